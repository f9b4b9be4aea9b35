// Package cli implements the quadshare command and its subcommands.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sort"
	"strings"

	"quadshare/internal/config"
)

// Env is what a command reads from and writes to; tests supply their own.
type Env struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
}

// StdEnv is the process environment.
func StdEnv() *Env {
	return &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv}
}

type command struct {
	summary string
	run     func(ctx context.Context, e *Env, args []string) error
}

// commands is the table of subcommands; each lives in its own file.
var commands = map[string]command{
	"serve":      {"run the node: the TAXII 2.1 server", runServe},
	"import":     {"import STIX bundles or objects: quadshare import FILE|DIR|-", runImport},
	"export":     {"export objects as a STIX bundle", runExport},
	"search":     {"full-text search of names and descriptions: quadshare search WORDS...", runSearch},
	"validate":   {"validate STIX files: quadshare validate FILE...", runValidate},
	"bench":      {"measure: quadshare bench ingest", runBench},
	"migrate":    {"apply pending database migrations", runMigrate},
	"user":       {"manage users: quadshare user add|list|revoke", runUser},
	"token":      {"manage API tokens: quadshare token create|list|revoke", runToken},
	"collection": {"manage collections and their grants: quadshare collection add|list|grant", runCollection},
	"audit":      {"check or sign the audit trail: quadshare audit verify|checkpoint", runAudit},
	"policy":     {"the sharing policy: quadshare policy init|check|set", runPolicy},
	"report":     {"incident reports: quadshare report submit FILE | list --due | verify RECEIPT | operator ORG", runReport},
	"peer":       {"partner nodes: quadshare peer add|list|remove|status|self", runPeer},
	"demo":       {"four national nodes on 127.0.0.1 sharing a sample report", runDemo},
}

// errUsage marks a mistake in the command line (exit status 2).
var errUsage = errors.New("usage")

// errInvalid marks input that was read and found invalid (exit status 1, report printed).
var errInvalid = errors.New("invalid input")

// Main runs the command line args and returns the exit status.
func Main(ctx context.Context, args []string, e *Env) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(e.Stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(e.Stderr, "quadshare: unknown command %q\n\n", args[0])
		usage(e.Stderr)
		return 2
	}
	err := cmd.run(ctx, e, args[1:])
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		fmt.Fprintf(e.Stderr, "quadshare %s: %v\n", args[0], err)
		return 2
	case errors.Is(err, errInvalid):
		return 1
	default:
		fmt.Fprintf(e.Stderr, "quadshare %s: %v\n", args[0], err)
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: quadshare COMMAND [flags] [args]\n\ncommands:")
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-10s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w, "\nrun 'quadshare COMMAND -h' for the flags of a command")
}

// flags makes the flag set of a subcommand, with the global flags bound.
func flags(e *Env, name, synopsis string) (*flag.FlagSet, *config.Flags) {
	fs := flag.NewFlagSet("quadshare "+name, flag.ContinueOnError)
	fs.SetOutput(e.Stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.Stderr, "usage: quadshare %s %s\n\nflags:\n", name, synopsis)
		fs.PrintDefaults()
	}
	return fs, config.BindFlags(fs)
}

// parse parses args and loads the configuration.
func parse(e *Env, fs *flag.FlagSet, cf *config.Flags, args []string) (config.Config, error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return config.Config{}, err
		}
		return config.Config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	return cf.Load(e.Getenv)
}

func newLogger(w io.Writer, jsonLogs bool) *slog.Logger {
	if jsonLogs {
		return slog.New(slog.NewJSONHandler(w, nil))
	}
	return slog.New(slog.NewTextHandler(w, nil))
}

// plural writes "1 object" or "3 objects".
func plural(n int, word string) string {
	if n == 1 {
		return fmt.Sprintf("%d %s", n, word)
	}
	if strings.HasSuffix(word, "y") {
		return fmt.Sprintf("%d %sies", n, word[:len(word)-1])
	}
	return fmt.Sprintf("%d %ss", n, word)
}
