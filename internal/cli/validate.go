package cli

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"quadshare/internal/stix"
)

func runValidate(ctx context.Context, e *Env, args []string) error {
	fset, cf := flags(e, "validate", "FILE...")
	if _, err := parse(e, fset, cf, args); err != nil {
		return err
	}
	if fset.NArg() == 0 {
		return fmt.Errorf("%w: name at least one FILE (or - for standard input)", errUsage)
	}
	var objects, invalid int
	for _, name := range fset.Args() {
		n, bad, err := validateFile(ctx, e, name)
		objects += n
		invalid += bad
		if err != nil {
			fmt.Fprintln(e.Stdout, err)
			invalid++
		}
	}
	if invalid > 0 {
		fmt.Fprintf(e.Stdout, "%s checked, %d invalid\n", plural(objects, "object"), invalid)
		return errInvalid
	}
	fmt.Fprintf(e.Stdout, "%s checked, all valid\n", plural(objects, "object"))
	return nil
}

// validateFile reports every invalid object of one file as "file:line:column: ...".
func validateFile(ctx context.Context, e *Env, name string) (objects, invalid int, err error) {
	var r io.Reader = e.Stdin
	var pos *positions
	if name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return 0, 0, err
		}
		defer f.Close()
		r = f
		if g, err := os.Open(name); err == nil {
			defer g.Close()
			pos = &positions{r: bufio.NewReader(g), line: 1, col: 1}
		}
	}
	rd := stix.NewReader(r)
	for {
		if ctx.Err() != nil {
			return objects, invalid, ctx.Err()
		}
		raw, err := rd.Next()
		if errors.Is(err, io.EOF) {
			return objects, invalid, nil
		}
		if err != nil {
			return objects, invalid, fmt.Errorf("%s: %w", pos.at(name, rd.Offset()), err)
		}
		objects++
		if _, err := stix.Parse(raw); err != nil {
			invalid++
			where := pos.at(name, rd.Offset())
			var list stix.Errors
			if errors.As(err, &list) {
				for _, one := range list {
					fmt.Fprintf(e.Stdout, "%s: %v\n", where, one)
				}
			} else {
				fmt.Fprintf(e.Stdout, "%s: %v\n", where, err)
			}
		}
	}
}

// positions turns increasing byte offsets into line and column numbers by reading a
// second handle on the file forward, once.
type positions struct {
	r         *bufio.Reader
	off       int64
	line, col int
}

func (p *positions) at(name string, off int64) string {
	if p == nil {
		return fmt.Sprintf("%s:@%d", name, off)
	}
	for p.off < off {
		b, err := p.r.ReadByte()
		if err != nil {
			break
		}
		p.off++
		if b == '\n' {
			p.line, p.col = p.line+1, 1
		} else if b&0xC0 != 0x80 { // count runes, not bytes
			p.col++
		}
	}
	return fmt.Sprintf("%s:%d:%d", name, p.line, p.col)
}
