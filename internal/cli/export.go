package cli

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/config"
	"quadshare/internal/federation"
	"quadshare/internal/gate"
	"quadshare/internal/node"
	"quadshare/internal/policy"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// csvFlag collects a repeatable, comma-separated flag.
type csvFlag []string

func (l *csvFlag) String() string { return strings.Join(*l, ",") }
func (l *csvFlag) Set(s string) error {
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			*l = append(*l, v)
		}
	}
	return nil
}

func runExport(ctx context.Context, e *Env, args []string) error {
	fset, cf := flags(e, "export", "[flags]")
	var colls, types csvFlag
	fset.Var(&colls, "collection", "collection id or alias (repeatable; default: every collection)")
	fset.Var(&types, "type", "object type to export (repeatable or comma-separated; default: all)")
	since := fset.String("since", "", "only objects added after this time (RFC 3339)")
	until := fset.String("until", "", "only objects added up to this time (RFC 3339)")
	versions := fset.String("versions", "last", "which versions: last, first or all")
	out := fset.String("o", "-", "output file (- for standard output)")
	forWhom := fset.String("for", "agency", "recipient the sharing policy decides for: agency (our agency), user:NAME or partner:NATION")
	cfg, err := parse(e, fset, cf, args)
	if err != nil {
		return err
	}
	q := store.Query{Types: types, Limit: 1000}
	if q.AddedAfter, err = parseTimeFlag("since", *since); err != nil {
		return err
	}
	if q.AddedUpTo, err = parseTimeFlag("until", *until); err != nil {
		return err
	}
	switch *versions {
	case "last":
		q.Versions.Last = true
	case "first":
		q.Versions.First = true
	case "all":
		q.Versions.All = true
	default:
		return fmt.Errorf("%w: -versions %q: want last, first or all", errUsage, *versions)
	}

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	rd, err := readerFor(ctx, cfg, st, *forWhom)
	if err != nil {
		return err
	}
	list, err := collectionsFor(ctx, st, rd.d.Recipient, colls)
	if err != nil {
		return err
	}

	var w io.Writer = e.Stdout
	if *out != "-" {
		f, err := os.Create(*out)
		if err != nil {
			return err
		}
		defer f.Close()
		w = f
	}
	bw := bufio.NewWriterSize(w, 1<<20)
	n, err := writeBundle(ctx, st, rd, bw, list, q)
	if err != nil {
		return err
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	if *out != "-" {
		fmt.Fprintf(e.Stderr, "exported %s to %s\n", plural(n, "object"), *out)
	}
	return nil
}

// collectionsFor resolves the collections an export or a search reads for
// recipient: those named, else every one. An operator's inbox holds reports as
// filed, which go to a partner only once an analyst releases them into another
// collection: it is left out for a partner node, and refused when named; so are
// the federation's local deletion notices, and what partner nodes sent us, which
// goes on to a third nation only under the federation's onward rule.
func collectionsFor(ctx context.Context, st store.Store, r policy.Recipient, names []string) ([]store.Collection, error) {
	partner := r.Kind == policy.KindPartner
	if len(names) == 0 {
		all, err := st.Collections(ctx)
		if err != nil {
			return nil, err
		}
		list := all[:0]
		for _, c := range all {
			if !partner || c.OwnerOrg == "" && !federationOwn(c) {
				list = append(list, c)
			}
		}
		return list, nil
	}
	var list []store.Collection
	for _, id := range names {
		c, err := st.Collection(ctx, id)
		if err != nil {
			return nil, fmt.Errorf("collection %q: %w", id, err)
		}
		if partner && c.OwnerOrg != "" {
			return nil, fmt.Errorf("%w: collection %q is an operator's inbox: its reports go to partners only once an analyst releases them", errUsage, id)
		}
		if partner && federationOwn(c) {
			return nil, fmt.Errorf("%w: collection %q is the federation's own: what it holds goes to partners only through federation", errUsage, id)
		}
		list = append(list, c)
	}
	return list, nil
}

// reader is who an export or a search is for, and how a page of a collection is
// released to them: our agency and a partner node through the policy alone, a user
// as on the API, through their rights on the collection and then the policy.
type reader struct {
	gate  *gate.Gate
	d     gate.Disclosure
	user  *auth.Principal // for user:NAME
	authn *auth.Authenticator
}

// readerFor resolves --for: agency (our agency), user:NAME or partner:NATION.
func readerFor(ctx context.Context, cfg config.Config, st store.Store, forWhom string) (reader, error) {
	engine, err := node.LoadPolicy(cfg)
	if err != nil {
		return reader{}, err
	}
	g, err := gate.New(engine, st)
	if err != nil {
		return reader{}, err
	}
	pc := engine.Config()
	rd := reader{gate: g}
	kind, name, _ := strings.Cut(forWhom, ":")
	switch {
	case forWhom == "agency":
		rd.d.Recipient = policy.Recipient{Kind: policy.KindOrganisation, Nation: pc.Nation, Org: pc.Agency,
			OrgKind: policy.OrgAgency, Clearance: policy.Level(pc.NodeLevel)}
		rd.d.Actor = "org:" + gate.OrgID(pc.Agency)
	case kind == "user" && name != "":
		u, err := st.User(ctx, name)
		if err != nil {
			return rd, fmt.Errorf("--for %s: %w", forWhom, err)
		}
		o, err := st.Organisation(ctx, u.Org)
		if err != nil {
			return rd, fmt.Errorf("--for %s: organisation: %w", forWhom, err)
		}
		if !u.DisabledAt.IsZero() {
			return rd, fmt.Errorf("--for %s: the user is revoked", forWhom)
		}
		rd.user, rd.authn = &auth.Principal{User: u, Org: o}, auth.New(st, nil)
		rd.d.Recipient, rd.d.Actor = gate.RecipientOf(u, o, engine.Scales()), gate.Actor(u, o)
	case kind == "partner" && nationCode.MatchString(name):
		rd.d.Recipient = policy.Recipient{Kind: policy.KindPartner, Nation: name}
		rd.d.Actor = "peer:" + name
	default:
		return rd, fmt.Errorf("%w: --for %q: want agency, user:NAME or partner:NATION (e.g. partner:JP)", errUsage, forWhom)
	}
	return rd, nil
}

// release passes entries of collection c read for endpoint (export, search)
// through the gate, which records what it discloses.
func (rd reader) release(ctx context.Context, c store.Collection, endpoint string, entries []store.Entry) ([]store.Entry, error) {
	if rd.user == nil {
		d := rd.d
		d.Subject, d.Endpoint = "collection:"+c.ID, endpoint
		return rd.gate.Release(ctx, d, entries)
	}
	rights, err := rd.authn.Rights(ctx, rd.user, c)
	if err != nil {
		return nil, err
	}
	return rd.gate.ReleaseTo(ctx, rd.user, rights, c.ID, endpoint, entries)
}

// writeBundle streams the matching objects of the collections as one STIX bundle (§8),
// each object version once even when it is in several collections, every page
// through the gate: what the policy withholds from the recipient is left out,
// what it redacts goes redacted, and the disclosure is recorded.
func writeBundle(ctx context.Context, st store.Objects, rd reader, w io.Writer, colls []store.Collection, q store.Query) (int, error) {
	if _, err := fmt.Fprintf(w, `{"type":"bundle","id":"bundle--%s","objects":[`, uuid.New()); err != nil {
		return 0, err
	}
	seen := make(map[string]struct{})
	n := 0
	for _, c := range colls {
		q := q
		q.Collection = c.ID
		if q.AddedUpTo.IsZero() { // a snapshot: what arrives during the export is not in it
			last, err := st.LastAdded(ctx, c.ID)
			if err != nil {
				return n, fmt.Errorf("collection %s: %w", c.ID, err)
			}
			if last.IsZero() {
				continue
			}
			q.AddedUpTo = last
		}
		for {
			page, err := st.Query(ctx, q)
			if err != nil {
				return n, fmt.Errorf("collection %s: %w", c.ID, err)
			}
			released, err := rd.release(ctx, c, "export", page.Entries)
			if err != nil {
				return n, err
			}
			for _, en := range released {
				key := versionKey(en)
				if len(colls) > 1 {
					if _, dup := seen[key]; dup {
						continue
					}
					seen[key] = struct{}{}
				}
				if n > 0 {
					if _, err := io.WriteString(w, ","); err != nil {
						return n, err
					}
				}
				if _, err := w.Write(en.Object.Raw); err != nil {
					return n, err
				}
				n++
			}
			if !page.More || len(page.Entries) == 0 {
				break
			}
			q.AddedAfter = page.Entries[len(page.Entries)-1].DateAdded
		}
	}
	_, err := io.WriteString(w, "]}\n")
	return n, err
}

// federationOwn reports whether c is one of the federation's collections: what
// partners sent us, and the local deletion notices.
func federationOwn(c store.Collection) bool {
	return c.Alias == federation.InboundAlias || c.Alias == federation.DeletionsAlias
}

// versionKey names an object version, to send it once when it is in several collections.
func versionKey(en store.Entry) string { return en.Object.ID + "|" + en.Object.Version().Key() }

func parseTimeFlag(name, v string) (time.Time, error) {
	if v == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, v)
	if err != nil {
		return time.Time{}, fmt.Errorf("%w: -%s %q: want an RFC 3339 time such as 2026-01-02T15:04:05Z", errUsage, name, v)
	}
	return t, nil
}
