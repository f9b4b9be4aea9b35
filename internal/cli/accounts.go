package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/config"
	"quadshare/internal/node"
	"quadshare/internal/pki"
	"quadshare/internal/store"
	"quadshare/internal/uuid"
)

// The account commands: user, token and collection. Each has subcommands whose
// positional arguments and flags may come in any order ("user add alice --role reader").

// Usage lines of the subcommands.
const (
	synUserAdd         = "NAME --org ORG --role admin|analyst|operator|reader|peer [--nation XX --org-kind agency|operator|partner --sector S ...] [--cert-fingerprint HEX]"
	synTokenCreate     = "USER [--ttl 720h]"
	synCollectionAdd   = "TITLE [--alias A --description D --owner-org ORG] [--grant SUBJECT=r|w|rw ...]"
	synCollectionGrant = "COLLECTION SUBJECT=r|w|rw|none ..."
)

type subcommand struct {
	synopsis string
	run      func(ctx context.Context, e *Env, args []string) error
}

func runUser(ctx context.Context, e *Env, args []string) error {
	return dispatch(ctx, e, "user", args, map[string]subcommand{
		"add":    {synUserAdd, runUserAdd},
		"list":   {"", runUserList},
		"revoke": {"NAME", runUserRevoke},
	})
}

func runToken(ctx context.Context, e *Env, args []string) error {
	return dispatch(ctx, e, "token", args, map[string]subcommand{
		"create": {synTokenCreate, runTokenCreate},
		"list":   {"USER", runTokenList},
		"revoke": {"TOKEN-ID", runTokenRevoke},
	})
}

func runCollection(ctx context.Context, e *Env, args []string) error {
	return dispatch(ctx, e, "collection", args, map[string]subcommand{
		"add":   {synCollectionAdd, runCollectionAdd},
		"list":  {"", runCollectionList},
		"grant": {synCollectionGrant, runCollectionGrant},
	})
}

func dispatch(ctx context.Context, e *Env, name string, args []string, subs map[string]subcommand) error {
	names := make([]string, 0, len(subs))
	for n := range subs {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		fmt.Fprintf(e.Stderr, "usage:\n")
		for _, n := range names {
			fmt.Fprintln(e.Stderr, strings.TrimRight(fmt.Sprintf("  quadshare %s %s %s", name, n, subs[n].synopsis), " "))
		}
		if len(args) == 0 {
			return fmt.Errorf("%w: name a subcommand: %s", errUsage, strings.Join(names, ", "))
		}
		return flag.ErrHelp
	}
	sub, ok := subs[args[0]]
	if !ok {
		return fmt.Errorf("%w: unknown subcommand %q (want %s)", errUsage, args[0], strings.Join(names, ", "))
	}
	// What these commands change is recorded in the audit trail as done at the CLI.
	return sub.run(store.WithActor(ctx, cliActor), e, args[1:])
}

// parseMixed is parse for commands whose positional arguments may precede flags; the
// flag package stops at the first positional argument, so parsing resumes after it.
// Everything after "--" is positional.
func parseMixed(e *Env, fs *flag.FlagSet, cf *config.Flags, args []string) (config.Config, []string, error) {
	var tail []string
	if i := slices.Index(args, "--"); i >= 0 {
		args, tail = args[:i], args[i+1:]
	}
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return config.Config{}, nil, err
			}
			return config.Config{}, nil, fmt.Errorf("%w: %v", errUsage, err)
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	cfg, err := cf.Load(e.Getenv)
	if err != nil {
		return config.Config{}, nil, err
	}
	return cfg, append(pos, tail...), nil
}

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error {
	if len(*l) >= 100 {
		return errors.New("given too many times")
	}
	*l = append(*l, v)
	return nil
}

// parseAndOpen is parseArgs followed by openStore, for the commands that only
// need the store; the caller closes it.
func parseAndOpen(ctx context.Context, e *Env, fs *flag.FlagSet, cf *config.Flags, args []string, n int, what string) (store.Store, []string, error) {
	cfg, pos, err := parseArgs(e, fs, cf, args, n, what)
	if err != nil {
		return nil, nil, err
	}
	st, err := openStore(ctx, cfg)
	return st, pos, err
}

// parseArgs parses a subcommand's flags and arguments, of which it wants exactly n.
func parseArgs(e *Env, fs *flag.FlagSet, cf *config.Flags, args []string, n int, what string) (config.Config, []string, error) {
	cfg, pos, err := parseMixed(e, fs, cf, args)
	if err != nil {
		return cfg, nil, err
	}
	if len(pos) != n {
		return cfg, nil, fmt.Errorf("%w: want %s, got %d arguments", errUsage, what, len(pos))
	}
	return cfg, pos, nil
}

var (
	userName   = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$`)
	orgName    = regexp.MustCompile(`^[\pL\pN][\pL\pN .,&()'_-]{0,127}$`)
	nationCode = regexp.MustCompile(`^[A-Z]{2}$`)
	sectorName = regexp.MustCompile(`^[a-z0-9][a-z0-9 _-]{0,63}$`)
	aliasName  = regexp.MustCompile(`^[a-z0-9][a-z0-9._-]{0,63}$`)
)

// roleKinds says which roles the users of each kind of organisation may have: agency
// staff administer and analyse, an operator only reports, a partner node only peers.
// Every kind may have readers.
var roleKinds = map[store.Role]store.OrgKind{
	store.RoleAdmin:    store.KindAgency,
	store.RoleAnalyst:  store.KindAgency,
	store.RoleOperator: store.KindOperator,
	store.RolePeer:     store.KindPartner,
	store.RoleReader:   "",
}

func runUserAdd(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "user add", synUserAdd)
	org := fs.String("org", "", "organisation name or id (created when missing, with --nation and --org-kind)")
	role := fs.String("role", "", "admin, analyst, operator, reader or peer")
	nation := fs.String("nation", "", "ISO 3166-1 alpha-2 code of a new organisation: AU, IN, JP, US ...")
	kind := fs.String("org-kind", "", "kind of a new organisation: agency, operator or partner")
	var sectors listFlag
	fs.Var(&sectors, "sector", "sector of a new organisation (repeatable), e.g. energy")
	certFP := fs.String("cert-fingerprint", "", "SHA-256 fingerprint (hex) of the client certificate that authenticates this user")
	nationality := fs.String("nationality", "", "the user's nationality, ISO 3166-1 alpha-2 (default: the organisation's nation)")
	clearance := fs.String("clearance", "", "security clearance, a label of the nationality's scale such as PROTECTED or SECRET (default: its official level; none for peers)")
	cfg, pos, err := parseArgs(e, fs, cf, args, 1, "one user NAME")
	if err != nil {
		return err
	}
	name := pos[0]
	if !userName.MatchString(name) {
		return fmt.Errorf("%w: user name %q: want 1-64 letters, digits, '.', '_', '@' or '-', starting with a letter or digit", errUsage, name)
	}
	r := store.Role(*role)
	wantKind, ok := roleKinds[r]
	if !ok {
		return fmt.Errorf("%w: --role %q: want admin, analyst, operator, reader or peer", errUsage, *role)
	}
	if *org == "" {
		return fmt.Errorf("%w: --org is required", errUsage)
	}
	fp := ""
	if *certFP != "" {
		if fp, err = pki.NormalizeFingerprint(*certFP); err != nil {
			return fmt.Errorf("%w: --cert-fingerprint: %v", errUsage, err)
		}
	}
	for i, s := range sectors {
		sectors[i] = strings.ToLower(strings.TrimSpace(s))
		if !sectorName.MatchString(sectors[i]) {
			return fmt.Errorf("%w: --sector %q: want lowercase letters, digits, spaces, '_' or '-'", errUsage, s)
		}
	}
	slices.Sort(sectors)
	sectors = slices.Compact(sectors)

	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()

	if _, err := st.User(ctx, name); err == nil {
		return fmt.Errorf("user %q already exists", name)
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("look up user %q: %w", name, err)
	}
	if fp != "" {
		if other, err := st.UserByCert(ctx, fp); err == nil {
			return fmt.Errorf("certificate %s is already pinned to user %q", fp, other.Name)
		} else if !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("look up certificate: %w", err)
		}
	}

	o, err := st.Organisation(ctx, *org)
	created := false
	switch {
	case errors.Is(err, store.ErrNotFound):
		o, err = newOrganisation(*org, *nation, *kind, sectors)
		if err != nil {
			return err
		}
		created = true
	case err != nil:
		return fmt.Errorf("look up organisation %q: %w", *org, err)
	default:
		if err := sameOrganisation(o, *nation, *kind, sectors); err != nil {
			return err
		}
	}
	if wantKind != "" && o.Kind != wantKind {
		return fmt.Errorf("%w: a user with role %s must belong to an organisation of kind %s; %q is of kind %s", errUsage, r, wantKind, o.Name, o.Kind)
	}
	if created {
		if err := st.PutOrganisation(ctx, o); err != nil {
			return fmt.Errorf("create organisation %q: %w", o.Name, err)
		}
	}
	u := store.User{ID: uuid.New(), Name: name, Org: o.ID, Role: r, CertFingerprint: fp, CreatedAt: time.Now().UTC()}
	if u.Nationality, u.Clearance, err = userClearance(cfg, o, r, *nationality, *clearance); err != nil {
		return err
	}
	if err := st.CreateUser(ctx, u); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("user %q (or its certificate) already exists", name)
		}
		return fmt.Errorf("create user %q: %w", name, err)
	}
	if created {
		fmt.Fprintf(e.Stdout, "created organisation %s (%s, %s", o.Name, o.Nation, o.Kind)
		if len(o.Sectors) > 0 {
			fmt.Fprintf(e.Stdout, ", sectors %s", strings.Join(o.Sectors, ", "))
		}
		fmt.Fprintf(e.Stdout, ")\n")
	}
	fmt.Fprintf(e.Stdout, "created user %s (%s) in %s, id %s", u.Name, u.Role, o.Name, u.ID)
	if u.Clearance != "" {
		fmt.Fprintf(e.Stdout, ", cleared %s (%s)", u.Clearance, u.Nationality)
	}
	fmt.Fprintln(e.Stdout)
	if fp != "" {
		fmt.Fprintf(e.Stdout, "client certificate %s authenticates %s\n", fp, u.Name)
	} else {
		fmt.Fprintf(e.Stdout, "next: quadshare token create %s\n", u.Name)
	}
	return nil
}

func newOrganisation(name, nation, kind string, sectors []string) (store.Organisation, error) {
	if !orgName.MatchString(name) {
		return store.Organisation{}, fmt.Errorf("%w: organisation name %q: want 1-128 letters, digits, spaces and .,&()'_-", errUsage, name)
	}
	if nation == "" || kind == "" {
		return store.Organisation{}, fmt.Errorf("%w: organisation %q does not exist; to create it give --nation and --org-kind", errUsage, name)
	}
	nation = strings.ToUpper(nation)
	if !nationCode.MatchString(nation) {
		return store.Organisation{}, fmt.Errorf("%w: --nation %q: want a two-letter ISO 3166-1 code such as AU, IN, JP, US", errUsage, nation)
	}
	k := store.OrgKind(kind)
	if k != store.KindAgency && k != store.KindOperator && k != store.KindPartner {
		return store.Organisation{}, fmt.Errorf("%w: --org-kind %q: want agency, operator or partner", errUsage, kind)
	}
	return store.Organisation{ID: uuid.New(), Name: name, Nation: nation, Kind: k, Sectors: sectors}, nil
}

// userClearance checks a user's nationality and clearance against the node's
// classification scales. Staff of agencies and operators handle official
// information, so without --clearance they get their nation's official level
// (level 1 of the common scale); a peer is a node, whose channel, not a person,
// is accredited: it gets none.
func userClearance(cfg config.Config, o store.Organisation, r store.Role, nationality, label string) (string, string, error) {
	if nationality == "" {
		nationality = o.Nation
	}
	nationality = strings.ToUpper(nationality)
	if !nationCode.MatchString(nationality) {
		return "", "", fmt.Errorf("%w: --nationality %q: want a two-letter ISO 3166-1 code such as AU", errUsage, nationality)
	}
	if r == store.RolePeer {
		if label != "" {
			return "", "", fmt.Errorf("%w: --clearance: a peer is a partner node; its agreement sets what it may receive", errUsage)
		}
		return nationality, "", nil
	}
	scales, err := node.LoadScales(cfg)
	if err != nil {
		return "", "", err
	}
	if label == "" {
		official, ok := scales.Label(nationality, 1)
		if !ok {
			return "", "", fmt.Errorf("%w: nationality %s has no classification scale; give --clearance or add the nation to the scales", errUsage, nationality)
		}
		return nationality, official, nil
	}
	if _, ok := scales.Level(nationality, label); !ok {
		return "", "", fmt.Errorf("%w: --clearance %q is not a label of the %s scale", errUsage, label, nationality)
	}
	return nationality, label, nil
}

// sameOrganisation refuses organisation flags that contradict an existing organisation:
// user add does not silently change an organisation.
func sameOrganisation(o store.Organisation, nation, kind string, sectors []string) error {
	if nation != "" && !strings.EqualFold(nation, o.Nation) {
		return fmt.Errorf("%w: organisation %q exists with nation %s, not %s", errUsage, o.Name, o.Nation, nation)
	}
	if kind != "" && store.OrgKind(kind) != o.Kind {
		return fmt.Errorf("%w: organisation %q exists with kind %s, not %s", errUsage, o.Name, o.Kind, kind)
	}
	if len(sectors) > 0 {
		have := slices.Clone(o.Sectors)
		slices.Sort(have)
		if !slices.Equal(have, sectors) {
			return fmt.Errorf("%w: organisation %q exists with sectors [%s], not [%s]", errUsage, o.Name, strings.Join(o.Sectors, ", "), strings.Join(sectors, ", "))
		}
	}
	return nil
}

func runUserList(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "user list", "")
	st, _, err := parseAndOpen(ctx, e, fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	defer st.Close()
	users, err := st.Users(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	orgs, err := orgsByID(ctx, st)
	if err != nil {
		return err
	}
	sort.Slice(users, func(i, j int) bool { return users[i].Name < users[j].Name })
	now := time.Now()
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tROLE\tORGANISATION\tNATION\tKIND\tCLEARANCE\tSTATUS\tTOKENS\tCERTIFICATE")
	for _, u := range users {
		toks, err := st.Tokens(ctx, u.ID)
		if err != nil {
			return fmt.Errorf("tokens of %s: %w", u.Name, err)
		}
		active := 0
		for _, t := range toks {
			if tokenStatus(t, now) == "active" {
				active++
			}
		}
		status := "active"
		if !u.DisabledAt.IsZero() {
			status = "disabled " + u.DisabledAt.UTC().Format(time.DateOnly)
		}
		o := orgs[u.Org]
		if o.Name == "" {
			o.Name = u.Org + " (missing)"
		}
		cleared := u.Clearance
		if cleared != "" && u.Nationality != "" {
			cleared += " (" + u.Nationality + ")"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%s\n", u.Name, u.Role, o.Name, dash(o.Nation), dash(string(o.Kind)), dash(cleared), status, active, dash(shortFP(u.CertFingerprint)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return nil
}

func runUserRevoke(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "user revoke", "NAME")
	st, pos, err := parseAndOpen(ctx, e, fs, cf, args, 1, "one user NAME")
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.User(ctx, pos[0])
	if err != nil {
		return notFound("user", pos[0], err)
	}
	now := time.Now().UTC()
	if u.DisabledAt.IsZero() {
		if err := st.DisableUser(ctx, u.ID, now); err != nil {
			return fmt.Errorf("disable %s: %w", u.Name, err)
		}
		fmt.Fprintf(e.Stdout, "disabled user %s\n", u.Name)
	} else {
		fmt.Fprintf(e.Stdout, "user %s was already disabled on %s\n", u.Name, u.DisabledAt.UTC().Format(time.RFC3339))
	}
	toks, err := st.Tokens(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("tokens of %s: %w", u.Name, err)
	}
	n := 0
	for _, t := range toks {
		if t.RevokedAt.IsZero() {
			if err := st.RevokeToken(ctx, t.ID, now); err != nil {
				return fmt.Errorf("revoke token %s: %w", t.ID, err)
			}
			n++
		}
	}
	fmt.Fprintf(e.Stdout, "revoked %s\n", plural(n, "token"))
	return nil
}

func runTokenCreate(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "token create", synTokenCreate)
	ttl := fs.Duration("ttl", 720*time.Hour, fmt.Sprintf("lifetime of the token (at most %v)", auth.MaxTokenTTL))
	cfg, pos, err := parseArgs(e, fs, cf, args, 1, "one USER")
	if err != nil {
		return err
	}
	if *ttl <= 0 || *ttl > auth.MaxTokenTTL {
		return fmt.Errorf("%w: --ttl %v: want more than 0 and at most %v", errUsage, *ttl, auth.MaxTokenTTL)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.User(ctx, pos[0])
	if err != nil {
		return notFound("user", pos[0], err)
	}
	if !u.DisabledAt.IsZero() {
		return fmt.Errorf("user %s is disabled", u.Name)
	}
	secret, t, err := auth.CreateToken(ctx, st, u.ID, *ttl)
	if err != nil {
		return err
	}
	// The token alone goes to standard output so that scripts can capture it.
	fmt.Fprintf(e.Stderr, "token %s for user %s, expires %s\n", t.ID, u.Name, t.ExpiresAt.Format(time.RFC3339))
	fmt.Fprintln(e.Stdout, secret)
	fmt.Fprintf(e.Stderr, "WARNING: store this token now; it is not shown again. Use it as the HTTP Basic password with user name %s.\n", u.Name)
	return nil
}

func runTokenList(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "token list", "USER")
	st, pos, err := parseAndOpen(ctx, e, fs, cf, args, 1, "one USER")
	if err != nil {
		return err
	}
	defer st.Close()
	u, err := st.User(ctx, pos[0])
	if err != nil {
		return notFound("user", pos[0], err)
	}
	toks, err := st.Tokens(ctx, u.ID)
	if err != nil {
		return fmt.Errorf("tokens of %s: %w", u.Name, err)
	}
	sort.Slice(toks, func(i, j int) bool { return toks[i].CreatedAt.Before(toks[j].CreatedAt) })
	now := time.Now()
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tCREATED\tEXPIRES\tSTATUS")
	for _, t := range toks {
		exp := "never"
		if !t.ExpiresAt.IsZero() {
			exp = t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", t.ID, t.CreatedAt.UTC().Format(time.RFC3339), exp, tokenStatus(t, now))
	}
	return tw.Flush()
}

func runTokenRevoke(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "token revoke", "TOKEN-ID")
	cfg, pos, err := parseArgs(e, fs, cf, args, 1, "one TOKEN-ID")
	if err != nil {
		return err
	}
	id := pos[0]
	if tokID, _, err := auth.ParseToken(id); err == nil {
		id = tokID // a whole token was pasted: its id part names it
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	t, err := st.Token(ctx, id)
	if err != nil {
		return notFound("token", id, err)
	}
	if !t.RevokedAt.IsZero() {
		fmt.Fprintf(e.Stdout, "token %s was already revoked on %s\n", t.ID, t.RevokedAt.UTC().Format(time.RFC3339))
		return nil
	}
	if err := st.RevokeToken(ctx, t.ID, time.Now().UTC()); err != nil {
		return fmt.Errorf("revoke token %s: %w", t.ID, err)
	}
	fmt.Fprintf(e.Stdout, "revoked token %s\n", t.ID)
	return nil
}

func runCollectionAdd(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "collection add", synCollectionAdd)
	alias := fs.String("alias", "", "short unique name used instead of the id")
	desc := fs.String("description", "", "description shown to TAXII clients")
	owner := fs.String("owner-org", "", "organisation whose inbox this is (an operator writes only to its own inbox)")
	var grants listFlag
	fs.Var(&grants, "grant", "SUBJECT=r|w|rw (repeatable): SUBJECT is an organisation, user:NAME, org:NAME or sector:NAME")
	cfg, pos, err := parseArgs(e, fs, cf, args, 1, "one TITLE (quote it when it has spaces)")
	if err != nil {
		return err
	}
	title := strings.TrimSpace(pos[0])
	if title == "" || len(title) > 200 || strings.ContainsFunc(title, isControl) {
		return fmt.Errorf("%w: title: want 1-200 printable characters", errUsage)
	}
	if *alias != "" && !aliasName.MatchString(*alias) {
		return fmt.Errorf("%w: --alias %q: want 1-64 lowercase letters, digits, '.', '_' or '-'", errUsage, *alias)
	}
	if len(*desc) > 4000 || strings.ContainsFunc(*desc, func(r rune) bool { return r != '\n' && isControl(r) }) {
		return fmt.Errorf("%w: --description: want at most 4000 printable characters", errUsage)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c := store.Collection{
		ID:          uuid.New(),
		Alias:       *alias,
		Title:       title,
		Description: *desc,
		MediaTypes:  []string{"application/stix+json;version=2.1"},
		CreatedAt:   time.Now().UTC(),
	}
	if *owner != "" {
		o, err := st.Organisation(ctx, *owner)
		if err != nil {
			return notFound("organisation", *owner, err)
		}
		c.OwnerOrg = o.ID
	}
	gs, err := resolveGrants(ctx, st, c.ID, grants)
	if err != nil {
		return err
	}
	if *alias != "" {
		if _, err := st.Collection(ctx, *alias); err == nil {
			return fmt.Errorf("a collection with alias or id %q already exists", *alias)
		}
	}
	if err := st.CreateCollection(ctx, c); err != nil {
		if errors.Is(err, store.ErrExists) {
			return fmt.Errorf("collection %q already exists", *alias)
		}
		return fmt.Errorf("create collection: %w", err)
	}
	fmt.Fprintf(e.Stdout, "created collection %q, id %s", c.Title, c.ID)
	if c.Alias != "" {
		fmt.Fprintf(e.Stdout, ", alias %s", c.Alias)
	}
	fmt.Fprintln(e.Stdout)
	return putGrants(ctx, e, st, gs)
}

func runCollectionGrant(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "collection grant", synCollectionGrant)
	cfg, pos, err := parseMixed(e, fs, cf, args)
	if err != nil {
		return err
	}
	if len(pos) < 2 {
		return fmt.Errorf("%w: want a COLLECTION and at least one SUBJECT=r|w|rw|none", errUsage)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	c, err := st.Collection(ctx, pos[0])
	if err != nil {
		return notFound("collection", pos[0], err)
	}
	gs, err := resolveGrants(ctx, st, c.ID, pos[1:])
	if err != nil {
		return err
	}
	return putGrants(ctx, e, st, gs)
}

type namedGrant struct {
	store.Grant
	label string
}

func putGrants(ctx context.Context, e *Env, st store.Store, gs []namedGrant) error {
	for _, g := range gs {
		if err := st.PutGrant(ctx, g.Grant); err != nil {
			return fmt.Errorf("grant %s: %w", g.label, err)
		}
		fmt.Fprintf(e.Stdout, "granted %s: %s\n", g.label, rightsText(g.Read, g.Write))
	}
	return nil
}

// resolveGrants reads SUBJECT=r|w|rw|none. A subject is sector:NAME, user:NAME,
// org:NAME, or a bare organisation name (or id).
func resolveGrants(ctx context.Context, st store.Store, collection string, specs []string) ([]namedGrant, error) {
	var out []namedGrant
	for _, spec := range specs {
		subject, mode, ok := strings.Cut(spec, "=")
		if !ok {
			return nil, fmt.Errorf("%w: grant %q: want SUBJECT=r|w|rw", errUsage, spec)
		}
		g := store.Grant{Collection: collection}
		switch mode {
		case "r":
			g.Read = true
		case "w":
			g.Write = true
		case "rw", "wr":
			g.Read, g.Write = true, true
		case "none", "":
		default:
			return nil, fmt.Errorf("%w: grant %q: rights %q: want r, w, rw or none", errUsage, spec, mode)
		}
		var label string
		switch {
		case strings.HasPrefix(subject, auth.SectorPrefix):
			s := strings.ToLower(strings.TrimSpace(strings.TrimPrefix(subject, auth.SectorPrefix)))
			if !sectorName.MatchString(s) {
				return nil, fmt.Errorf("%w: grant %q: sector name %q is not valid", errUsage, spec, s)
			}
			g.Subject, label = auth.SectorPrefix+s, "sector "+s
		case strings.HasPrefix(subject, "user:"):
			name := strings.TrimPrefix(subject, "user:")
			u, err := st.User(ctx, name)
			if err != nil {
				return nil, notFound("user", name, err)
			}
			g.Subject, label = u.ID, "user "+u.Name
		default:
			name := strings.TrimPrefix(subject, "org:")
			o, err := st.Organisation(ctx, name)
			if err != nil {
				return nil, notFound("organisation", name, err)
			}
			g.Subject, label = o.ID, "organisation "+o.Name
		}
		out = append(out, namedGrant{g, label})
	}
	return out, nil
}

func runCollectionList(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "collection list", "")
	st, _, err := parseAndOpen(ctx, e, fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	defer st.Close()
	cs, err := st.Collections(ctx)
	if err != nil {
		return fmt.Errorf("list collections: %w", err)
	}
	orgs, err := orgsByID(ctx, st)
	if err != nil {
		return err
	}
	users, err := st.Users(ctx)
	if err != nil {
		return fmt.Errorf("list users: %w", err)
	}
	userNames := make(map[string]string, len(users))
	for _, u := range users {
		userNames[u.ID] = u.Name
	}
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tALIAS\tTITLE\tOWNER\tGRANTS")
	for _, c := range cs {
		gs, err := st.Grants(ctx, c.ID)
		if err != nil {
			return fmt.Errorf("grants of %s: %w", c.ID, err)
		}
		var parts []string
		for _, g := range gs {
			if !g.Read && !g.Write {
				continue
			}
			who := g.Subject
			switch {
			case strings.HasPrefix(who, auth.SectorPrefix):
			case orgs[who].Name != "":
				who = "org:" + orgs[who].Name
			case userNames[who] != "":
				who = "user:" + userNames[who]
			}
			parts = append(parts, who+"="+rightsText(g.Read, g.Write))
		}
		sort.Strings(parts)
		owner := ""
		if c.OwnerOrg != "" {
			owner = orgs[c.OwnerOrg].Name
			if owner == "" {
				owner = c.OwnerOrg
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\n", c.ID, dash(c.Alias), c.Title, dash(owner), dash(strings.Join(parts, " ")))
	}
	return tw.Flush()
}

func orgsByID(ctx context.Context, st store.Store) (map[string]store.Organisation, error) {
	list, err := st.Organisations(ctx)
	if err != nil {
		return nil, fmt.Errorf("list organisations: %w", err)
	}
	m := make(map[string]store.Organisation, len(list))
	for _, o := range list {
		m[o.ID] = o
	}
	return m, nil
}

func tokenStatus(t store.Token, now time.Time) string {
	switch {
	case !t.RevokedAt.IsZero():
		return "revoked"
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return "expired"
	}
	return "active"
}

func rightsText(read, write bool) string {
	switch {
	case read && write:
		return "rw"
	case read:
		return "r"
	case write:
		return "w"
	}
	return "none"
}

func notFound(what, name string, err error) error {
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("%s %q does not exist", what, name)
	}
	return fmt.Errorf("look up %s %q: %w", what, name, err)
}

func shortFP(fp string) string {
	if len(fp) > 16 {
		return fp[:16] + "…"
	}
	return fp
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) }
