package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/config"
	"quadshare/internal/gate"
	"quadshare/internal/node"
	"quadshare/internal/policy"
	"quadshare/internal/store"
)

func runPolicy(ctx context.Context, e *Env, args []string) error {
	return dispatch(ctx, e, "policy", args, map[string]subcommand{
		"init":  {"--nation CODE --agency NAME", runPolicyInit},
		"check": {"[--object ID]", runPolicyCheck},
		"set":   {"FILE", runPolicySet},
	})
}

// Defaults of the policy a node writes on its first start.
const (
	defaultNation     = "AU"
	defaultAgencyName = "national agency"
)

func runPolicyInit(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "policy init", "--nation CODE --agency NAME")
	nation := fs.String("nation", defaultNation, "this node's nation, ISO 3166-1 alpha-2")
	agency := fs.String("agency", defaultAgencyName, "name of this nation's agency organisation (created when missing)")
	cfg, _, err := parseArgs(e, fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	if !nationCode.MatchString(*nation) {
		return fmt.Errorf("%w: --nation %q: want a two-letter ISO 3166-1 code in upper case such as AU", errUsage, *nation)
	}
	if !orgName.MatchString(*agency) {
		return fmt.Errorf("%w: --agency %q: want 1-128 letters, digits, spaces and .,&()'_-", errUsage, *agency)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	return initPolicy(ctx, e, cfg, st, *nation, *agency)
}

// initPolicy writes a starting policy and says what it means.
func initPolicy(ctx context.Context, e *Env, cfg config.Config, st store.Store, nation, agency string) error {
	pc, org, err := node.InitPolicy(ctx, cfg, st, nation, agency)
	if err != nil {
		return err
	}
	if err := recordPolicyChange(ctx, st, nil, &pc); err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "sharing policy: wrote %s (nation %s; agency organisation %q, identity %s; unmarked objects are TLP:%s at level %d;\n"+
		"  no partner agreements, so nothing goes to partners until one is added: edit a copy, raise its revision, then run 'quadshare policy set COPY')\n",
		cfg.PolicyFile(), pc.Nation, org.Name, pc.Agency, strings.ToUpper(pc.DefaultTLP), pc.DefaultLevel)
	return nil
}

func runPolicyCheck(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "policy check", "[--object ID]")
	object := fs.String("object", "", "explain, for the latest version of this object, who may receive it and why")
	cfg, _, err := parseArgs(e, fs, cf, args, 0, "no arguments")
	if err != nil {
		return err
	}
	engine, err := node.LoadPolicy(cfg)
	if err != nil {
		return err
	}
	pc := engine.Config()
	fmt.Fprintf(e.Stdout, "%s: valid (revision %d, nation %s, agency %s, default TLP:%s level %d, node accredited to level %d)\n",
		cfg.PolicyFile(), pc.Revision, pc.Nation, pc.Agency, strings.ToUpper(pc.DefaultTLP), pc.DefaultLevel, pc.NodeLevel)
	for _, a := range pc.Agreements {
		fmt.Fprintf(e.Stdout, "  agreement with %s v%d: types %s; sectors %s; up to TLP:%s and level %d; embargo %s; attribution %v\n",
			a.Partner, a.Version, strings.Join(a.ObjectTypes, ","), strings.Join(a.Sectors, ","),
			strings.ToUpper(a.MaxTLP), a.MaxLevel, time.Duration(a.Embargo), a.ShareAttribution)
	}
	if *object == "" {
		return nil
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	en, where, err := latestVersion(ctx, st, *object)
	if err != nil {
		return err
	}
	f, err := engine.Extract(en.Object.Raw)
	if err != nil {
		return fmt.Errorf("object %s: %w", *object, err)
	}
	if f.Since.IsZero() {
		f.Since = en.DateAdded
	}
	recipients, names, err := everyRecipient(ctx, st, engine)
	if err != nil {
		return err
	}
	fmt.Fprintf(e.Stdout, "\n%s version %s (collection %s):\n", f.ID, en.Object.Version(), where)
	tw := tabwriter.NewWriter(e.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RECIPIENT\tVERDICT\tRULE\tWHY")
	for i, x := range engine.Explain(&f, recipients, time.Now()) {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", names[i], x.Decision.Verdict, x.Decision.Rule, x.Reason)
	}
	return tw.Flush()
}

// latestVersion finds the newest version of an object in any collection.
func latestVersion(ctx context.Context, st store.Store, id string) (store.Entry, string, error) {
	cs, err := st.Collections(ctx)
	if err != nil {
		return store.Entry{}, "", err
	}
	var best store.Entry
	where := ""
	for _, c := range cs {
		pg, err := st.Query(ctx, store.Query{Collection: c.ID, IDs: []string{id}, Limit: 1})
		if err != nil {
			return best, "", err
		}
		if len(pg.Entries) == 1 && (where == "" || best.Object.Version().Compare(pg.Entries[0].Object.Version()) < 0) {
			best, where = pg.Entries[0], c.ID
		}
	}
	if where == "" {
		return best, "", fmt.Errorf("object %s is in no collection", id)
	}
	return best, where, nil
}

// everyRecipient lists the partner nodes of the agreements and every active user.
func everyRecipient(ctx context.Context, st store.Store, engine *policy.Engine) ([]policy.Recipient, []string, error) {
	var rs []policy.Recipient
	var names []string
	for _, p := range engine.Partners() {
		rs, names = append(rs, p), append(names, "partner node "+p.Nation)
	}
	users, err := st.Users(ctx)
	if err != nil {
		return nil, nil, err
	}
	orgs, err := orgsByID(ctx, st)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range users {
		if !u.DisabledAt.IsZero() {
			continue
		}
		o := orgs[u.Org]
		rs = append(rs, gate.RecipientOf(u, o, engine.Scales()))
		names = append(names, fmt.Sprintf("%s (%s, %s %s)", u.Name, u.Role, o.Nation, o.Name))
	}
	return rs, names, nil
}

func runPolicySet(ctx context.Context, e *Env, args []string) error {
	fs, cf := flags(e, "policy set", "FILE")
	cfg, pos, err := parseArgs(e, fs, cf, args, 1, "one policy FILE")
	if err != nil {
		return err
	}
	next, err := readPolicyFile(pos[0])
	if err != nil {
		return err
	}
	scales, err := node.LoadScales(cfg)
	if err != nil {
		return err
	}
	if _, err := policy.New(next, scales); err != nil {
		return fmt.Errorf("%s: %w", pos[0], err)
	}
	path := cfg.PolicyFile()
	var prev *policy.Config
	if cur, err := node.LoadPolicy(cfg); err == nil {
		c := cur.Config()
		prev = &c
		if err := next.CheckUpdate(prev); err != nil {
			return fmt.Errorf("%s: %w", pos[0], err)
		}
	} else if !errors.Is(err, node.ErrNoPolicy) {
		return fmt.Errorf("the policy in force is unreadable (%w); fix %s by hand", err, path)
	}
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := node.WritePolicy(path, next); err != nil {
		return err
	}
	if err := recordPolicyChange(ctx, st, prev, &next); err != nil {
		if prev != nil { // unrecorded changes must not stay in force
			err = errors.Join(err, node.WritePolicy(path, *prev))
		}
		return fmt.Errorf("policy not changed: %w", err)
	}
	fmt.Fprintf(e.Stdout, "sharing policy revision %d in force in %s; running nodes apply it on SIGHUP or restart\n", next.Revision, path)
	return nil
}

func readPolicyFile(path string) (policy.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return policy.Config{}, err
	}
	defer f.Close()
	pc, err := policy.LoadConfig(f)
	if err != nil {
		return pc, fmt.Errorf("%s: %w", path, err)
	}
	return pc, nil
}

// recordPolicyChange appends a policy-change record: the revisions and, per
// partner, the agreement versions before and after.
func recordPolicyChange(ctx context.Context, st store.Store, prev, next *policy.Config) error {
	type change struct {
		From int `json:"from,omitempty"`
		To   int `json:"to,omitempty"`
	}
	agreements := map[string]*change{}
	from := 0
	if prev != nil {
		from = prev.Revision
		for _, a := range prev.Agreements {
			agreements[a.Partner] = &change{From: a.Version}
		}
	}
	for _, a := range next.Agreements {
		if c := agreements[a.Partner]; c != nil {
			c.To = a.Version
		} else {
			agreements[a.Partner] = &change{To: a.Version}
		}
	}
	detail, err := json.Marshal(map[string]any{"revision": change{From: from, To: next.Revision}, "agreements": agreements})
	if err != nil {
		return err
	}
	return st.AppendAudit(ctx, audit.Entry{Kind: audit.PolicyChange, Time: time.Now(), Actor: cliActor,
		Subject: "policy:" + next.Nation, Detail: detail})
}
