package cli

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"quadshare/internal/config"
	"quadshare/internal/pki"
	"quadshare/internal/report"
	"quadshare/internal/reportapi"
	"quadshare/internal/store"
)

// report talks to a node's report API over HTTPS, as operators and analysts do from
// their own machines: the receipt is signed by the node, so a submission has to go
// through it. Registering an operator is an administrator's act at the node's
// console, on the store.
func runReport(ctx context.Context, e *Env, args []string) error {
	if len(args) == 0 {
		return fmt.Errorf("%w: want report submit|list|verify|operator", errUsage)
	}
	switch args[0] {
	case "submit":
		return runReportSubmit(ctx, e, args[1:])
	case "list":
		return runReportList(ctx, e, args[1:])
	case "operator":
		return runReportOperator(ctx, e, args[1:])
	case "verify":
		return runReportVerify(ctx, e, args[1:])
	}
	return fmt.Errorf("%w: unknown report command %q: want submit, list, verify or operator", errUsage, args[0])
}

// client is a connection to a node's report API.
type client struct {
	base, user, token string
	http              *http.Client
}

// bindClient adds the flags that reach a node.
func bindClient(fs interface {
	StringVar(*string, string, string, string)
}) (*string, *string, *string) {
	var u, user, ca string
	fs.StringVar(&u, "url", "", "node URL (default $QUADSHARE_URL, else https:// on the configured listen address)")
	fs.StringVar(&user, "user", "", "user name (default $QUADSHARE_USER); the API token is read from $QUADSHARE_TOKEN")
	fs.StringVar(&ca, "cacert", "", "CA certificate (PEM) to trust (default: the node's local CA in the data directory, when there)")
	return &u, &user, &ca
}

func newClient(e *Env, cfg config.Config, u, user, ca string) (*client, error) {
	if u == "" {
		u = e.Getenv("QUADSHARE_URL")
	}
	if u == "" {
		scheme := "https"
		if cfg.Insecure {
			scheme = "http"
		}
		u = scheme + "://" + cfg.Listen
	}
	pu, err := url.Parse(u)
	if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
		return nil, fmt.Errorf("%w: -url %q: want https://host:port", errUsage, u)
	}
	if user == "" {
		user = e.Getenv("QUADSHARE_USER")
	}
	token := e.Getenv("QUADSHARE_TOKEN")
	if user == "" || token == "" {
		return nil, fmt.Errorf("%w: give -user (or $QUADSHARE_USER) and the API token in $QUADSHARE_TOKEN", errUsage)
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
	if ca == "" {
		if p := filepath.Join(cfg.DataDir, "tls", pki.CACertFile); fileExists(p) {
			ca = p
		}
	}
	if ca != "" {
		pem, err := os.ReadFile(ca)
		if err != nil {
			return nil, fmt.Errorf("CA certificate: %w", err)
		}
		tc.RootCAs = x509.NewCertPool()
		if !tc.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("CA certificate %s: no PEM certificate in it", ca)
		}
	}
	return &client{base: strings.TrimSuffix(pu.String(), "/") + strings.TrimSuffix(reportapi.Prefix, "/"), user: user, token: token,
		http: &http.Client{Timeout: 2 * time.Minute, Transport: &http.Transport{TLSClientConfig: tc}}}, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

// apiError is an error answer of the API, with its field errors.
type apiError struct {
	Status      int
	Description string              `json:"description"`
	Errors      []report.FieldError `json:"errors"`
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "the node answered %d %s", e.Status, http.StatusText(e.Status))
	if e.Description != "" {
		b.WriteString(": " + e.Description)
	}
	for _, f := range e.Errors {
		b.WriteString("\n  ")
		if f.Pointer != "" {
			b.WriteString(f.Pointer + ": ")
		}
		b.WriteString(f.Message)
	}
	return b.String()
}

// do makes a request and returns the status and body of a 2xx answer, else an
// *apiError.
func (c *client) do(ctx context.Context, method, path string, body []byte, header ...string) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return 0, nil, err
	}
	req.SetBasicAuth(c.user, c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := c.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return 0, nil, err
	}
	if res.StatusCode/100 != 2 {
		ae := &apiError{Status: res.StatusCode}
		_ = json.Unmarshal(b, ae)
		return res.StatusCode, nil, ae
	}
	return res.StatusCode, b, nil
}

const synReportSubmit = "[-url URL] [-user NAME] [-cacert FILE] [-key KEY] [-receipt FILE] FILE|-"

func runReportSubmit(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "report submit", synReportSubmit)
	u, user, ca := bindClient(fs)
	key := fs.String("key", "", "idempotency key (default: sha256: and the SHA-256 of the file, so that submitting the same file again is answered with the first receipt)")
	receiptFile := fs.String("receipt", "", "also write the receipt to this file")
	cfg, err := parse(e, fs, cf, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: want one report file (- for standard input)", errUsage)
	}
	var in io.Reader = e.Stdin
	if name := fs.Arg(0); name != "-" {
		f, err := os.Open(name)
		if err != nil {
			return err
		}
		defer f.Close()
		in = f
	}
	body, err := io.ReadAll(io.LimitReader(in, report.MaxBytes+1))
	if err != nil {
		return err
	}
	if len(body) > report.MaxBytes {
		return fmt.Errorf("the report is larger than %d bytes", report.MaxBytes)
	}
	if *key == "" {
		sum := sha256.Sum256(body)
		*key = "sha256:" + hex.EncodeToString(sum[:])
	}
	c, err := newClient(e, cfg, *u, *user, *ca)
	if err != nil {
		return err
	}
	status, out, err := c.do(ctx, http.MethodPost, "/reports", body, reportapi.IdempotencyHeader, *key)
	if err != nil {
		return err
	}
	var rc report.Receipt
	if err := json.Unmarshal(out, &rc); err != nil {
		return fmt.Errorf("the node's receipt: %w", err)
	}
	verified := "NOT VERIFIED"
	if pub, err := c.receiptKey(ctx); err != nil {
		fmt.Fprintf(e.Stderr, "warning: could not fetch the node's receipt key: %v\n", err)
	} else if err := rc.Verify(pub); err != nil {
		return fmt.Errorf("the node's receipt: %w", err)
	} else {
		verified = "signature verified"
	}
	if *receiptFile != "" {
		if err := os.WriteFile(*receiptFile, append(out, '\n'), 0o600); err != nil {
			return err
		}
	}
	fmt.Fprintf(e.Stdout, "%s\n", out)
	what := "received"
	if status == http.StatusOK {
		what = "already received (the same submission again: the first receipt)"
	}
	fmt.Fprintf(e.Stderr, "report %s version %d %s at %s; receipt %s\n", rc.ReportID, rc.Version, what,
		rc.Received.Format(time.RFC3339), verified)
	if rc.Due != nil {
		fmt.Fprintf(e.Stderr, "deadline %s (%s): %s\n", rc.Due.Format(time.RFC3339), rc.Rule, onTimeWord(*rc.OnTime))
	}
	return nil
}

func onTimeWord(onTime bool) string {
	if onTime {
		return "on time"
	}
	return "LATE"
}

func (c *client) receiptKey(ctx context.Context) (ed25519.PublicKey, error) {
	_, b, err := c.do(ctx, http.MethodGet, "/receipt-key", nil)
	if err != nil {
		return nil, err
	}
	var k reportapi.ReceiptKey
	if err := json.Unmarshal(b, &k); err != nil {
		return nil, err
	}
	pub, err := base64.StdEncoding.DecodeString(k.PublicKey)
	if err != nil || len(pub) != ed25519.PublicKeySize {
		return nil, errors.New("not an Ed25519 public key")
	}
	return pub, nil
}

const synReportList = "[-url URL] [-user NAME] [-cacert FILE] [--due | --overdue] [--status S,...] [--operator ORG] [--limit N] [--json]"

func runReportList(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "report list", synReportList)
	u, user, ca := bindClient(fs)
	due := fs.Bool("due", false, "open reports (new, triaged) with a reporting deadline, earliest first")
	overdue := fs.Bool("overdue", false, "open reports whose deadline has passed")
	status := fs.String("status", "", "only these statuses (comma-separated: new, triaged, shared, closed)")
	operator := fs.String("operator", "", "only this operator's reports (organisation id; analysts)")
	limit := fs.Int("limit", 200, "at most this many reports")
	asJSON := fs.Bool("json", false, "write the reports as JSON")
	cfg, err := parse(e, fs, cf, args)
	if err != nil {
		return err
	}
	if fs.NArg() != 0 || *limit < 1 {
		return fmt.Errorf("%w: report list takes flags only, and -limit at least 1", errUsage)
	}
	c, err := newClient(e, cfg, *u, *user, *ca)
	if err != nil {
		return err
	}
	q := url.Values{}
	if *due {
		q.Set("due", "true")
	}
	if *overdue {
		q.Set("overdue", "true")
	}
	if *status != "" {
		q.Set("status", *status)
	}
	if *operator != "" {
		q.Set("operator", *operator)
	}
	all := []reportapi.View{}
	for len(all) < *limit {
		q.Set("limit", fmt.Sprint(min(*limit-len(all), 200)))
		_, b, err := c.do(ctx, http.MethodGet, "/reports?"+q.Encode(), nil)
		if err != nil {
			return err
		}
		var page reportapi.List
		if err := json.Unmarshal(b, &page); err != nil {
			return fmt.Errorf("the node's answer: %w", err)
		}
		all = append(all, page.Reports...)
		if page.Next == "" {
			break
		}
		q.Set("after", page.Next)
	}
	if *asJSON {
		b, err := json.MarshalIndent(all, "", "  ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(e.Stdout, "%s\n", b)
		return err
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "REPORT\tSTATUS\tDETECTED\tDUE\tDEADLINE\tOPERATOR\tTITLE")
	for _, v := range all {
		dueText, deadline := "-", "-"
		if v.Due != nil {
			dueText = v.Due.Format(time.RFC3339)
			deadline = v.Rule + ", reported " + strings.ToLower(onTimeWord(*v.OnTime))
			if v.Overdue {
				deadline += ", OVERDUE"
			}
		}
		op := "-"
		if v.Operator != nil {
			op = v.Operator.Name
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", v.ID, v.Status, v.DetectedAt.Format(time.RFC3339), dueText, deadline,
			oneLine(op, 40), oneLine(v.Title, 60))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(e.Stderr, "%s\n", plural(len(all), "report"))
	return nil
}

// oneLine shortens text for a table cell; report text has no control characters.
func oneLine(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

const synReportOperator = "ORG --sector ID [--sector ID ...] --size small|medium|large --consent never|government|partners"

// runReportOperator registers (or changes) an operator organisation's reporting
// profile: its national sectors, size band and consent to be named.
func runReportOperator(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "report operator", synReportOperator)
	var sectors listFlag
	fs.Var(&sectors, "sector", "a sector of the organisation's nation (repeatable), e.g. energy for AU, power-energy for IN")
	size := fs.String("size", "", "size band: small, medium or large")
	consent := fs.String("consent", "never", "consent to be named as the source: never, government or partners")
	cfg, pos, err := parseArgs(e, fs, cf, args, 1, "one organisation")
	if err != nil {
		return err
	}
	org := pos[0]
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	o, err := st.Organisation(ctx, org)
	if err != nil {
		return fmt.Errorf("organisation %q: %w", org, err)
	}
	if o.Kind != store.KindOperator {
		return fmt.Errorf("%w: %s is a %s, not an operator", errUsage, o.Name, o.Kind)
	}
	now := time.Now().UTC().Truncate(time.Millisecond)
	p := store.OperatorProfile{Org: o.ID, Sectors: slices.Compact(slices.Sorted(slices.Values(sectors))), SizeBand: *size, Consent: *consent,
		Created: now, Modified: now}
	if old, err := st.Operator(ctx, o.ID); err == nil {
		p.Created = old.Created
	} else if !errors.Is(err, store.ErrNotFound) {
		return err
	}
	op := report.Operator{ID: o.ID, Name: o.Name, Jurisdiction: o.Nation, Sectors: p.Sectors,
		SizeBand: report.SizeBand(p.SizeBand), Consent: report.Consent(p.Consent), Created: p.Created, Modified: p.Modified}
	if err := op.Check(report.DefaultSectors()); err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if err := st.PutOperator(ctx, p); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "operator %s (%s): sectors %s, size %s, consent %s\n", o.Name, o.Nation,
		strings.Join(p.Sectors, ", "), p.SizeBand, p.Consent)
	return nil
}

const synReportVerify = "[-public-key BASE64 | -url URL -user NAME] [-report FILE] RECEIPT"

// runReportVerify checks a receipt: its signature by the node, and that it is the
// receipt of a report file, so that an operator can show what it reported and when.
func runReportVerify(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "report verify", synReportVerify)
	u, user, ca := bindClient(fs)
	pubText := fs.String("public-key", "", "the node's receipt key, base64 (default: fetched from the node)")
	reportFile := fs.String("report", "", "the report file the receipt is for")
	cfg, pos, err := parseArgs(e, fs, cf, args, 1, "one receipt file")
	if err != nil {
		return err
	}
	raw, err := readBounded(pos[0], 64<<10)
	if err != nil {
		return err
	}
	var rc report.Receipt
	if err := json.Unmarshal(raw, &rc); err != nil {
		return fmt.Errorf("%s: not a receipt: %w", pos[0], err)
	}
	var pub ed25519.PublicKey
	if *pubText != "" {
		b, err := base64.StdEncoding.DecodeString(*pubText)
		if err != nil || len(b) != ed25519.PublicKeySize {
			return fmt.Errorf("%w: -public-key: not a base64 Ed25519 public key", errUsage)
		}
		pub = b
	} else {
		c, err := newClient(e, cfg, *u, *user, *ca)
		if err != nil {
			return err
		}
		if pub, err = c.receiptKey(ctx); err != nil {
			return fmt.Errorf("the node's receipt key: %w", err)
		}
	}
	if err := rc.Verify(pub); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "receipt of report %s version %d, received by %s at %s: signature valid\n",
		rc.ReportID, rc.Version, rc.Node, rc.Received.Format(time.RFC3339Nano))
	if rc.Due != nil {
		fmt.Fprintf(e.Stdout, "deadline %s (%s): %s\n", rc.Due.Format(time.RFC3339), rc.Rule, onTimeWord(*rc.OnTime))
	}
	if *reportFile == "" {
		return nil
	}
	body, err := readBounded(*reportFile, report.MaxBytes)
	if err != nil {
		return err
	}
	_, sectors, err := reportapi.LoadData(cfg.DataDir)
	if err != nil {
		return err
	}
	// The report as the node accepted it: decoded as of its receipt, with the id and
	// idempotency key the node and the submission gave it.
	rep, err := report.DecodeWith(bytes.NewReader(body), sectors, rc.Received)
	if err != nil {
		return fmt.Errorf("%s: %w", *reportFile, err)
	}
	if rep.ID == "" {
		rep.ID = rc.ReportID
	}
	if rep.IdempotencyKey == "" {
		rep.IdempotencyKey = rc.IdempotencyKey
	}
	if !rc.Matches(rep) {
		return fmt.Errorf("the receipt is not for the report in %s", *reportFile)
	}
	fmt.Fprintf(e.Stdout, "the receipt is for the report in %s\n", *reportFile)
	return nil
}

// readBounded reads a file of at most limit bytes ("-" for standard input is not
// offered: receipts and reports are files an operator keeps).
func readBounded(name string, limit int64) ([]byte, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", name, limit)
	}
	return b, nil
}
