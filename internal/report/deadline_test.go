package report

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestDeadlines(t *testing.T) {
	det := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	paid := det.Add(30 * time.Hour)
	rep := func(impact Impact, ransomPaid *time.Time) *Report {
		r := &Report{DetectedAt: det, Impact: impact}
		if ransomPaid != nil {
			r.Ransom = &Ransom{Demanded: true, Paid: true, PaidAt: ransomPaid}
		}
		return r
	}
	tests := []struct {
		name   string
		nation string
		rep    *Report
		ok     bool
		rule   string
		due    time.Time
	}{
		{"IN any impact 6h", "IN", rep(ImpactNone, nil), true, "cert-in", det.Add(6 * time.Hour)},
		{"IN severe 6h", "IN", rep(ImpactSevere, nil), true, "cert-in", det.Add(6 * time.Hour)},
		{"AU significant 12h", "AU", rep(ImpactSignificant, nil), true, "soci-significant", det.Add(12 * time.Hour)},
		{"AU severe 12h", "AU", rep(ImpactSevere, nil), true, "soci-significant", det.Add(12 * time.Hour)},
		{"AU relevant 72h", "AU", rep(ImpactMinor, nil), true, "soci-relevant", det.Add(72 * time.Hour)},
		{"AU no impact", "AU", rep(ImpactNone, nil), false, "", time.Time{}},
		{"US covered 72h", "US", rep(ImpactSignificant, nil), true, "circia-covered", det.Add(72 * time.Hour)},
		{"US minor not covered", "US", rep(ImpactMinor, nil), false, "", time.Time{}},
		{"US ransom paid 24h after payment, before 72h", "US", rep(ImpactSevere, &paid), true, "circia-ransom", paid.Add(24 * time.Hour)},
		{"US ransom paid late: 72h first", "US", rep(ImpactSevere, ptr(det.Add(60*time.Hour))), true, "circia-covered", det.Add(72 * time.Hour)},
		{"US ransom paid, minor impact", "US", rep(ImpactMinor, &paid), true, "circia-ransom", paid.Add(24 * time.Hour)},
		{"US ransom demanded not paid", "US", &Report{DetectedAt: det, Impact: ImpactMinor, Ransom: &Ransom{Demanded: true}}, false, "", time.Time{}},
		{"JP none", "JP", rep(ImpactSevere, &paid), false, "", time.Time{}},
		{"unknown nation", "FR", rep(ImpactSevere, nil), false, "", time.Time{}},
	}
	dl := DefaultDeadlines()
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			due, rule, ok := dl.Due(tt.rep, tt.nation)
			if ok != tt.ok || rule.Name != tt.rule || !due.Equal(tt.due) {
				t.Errorf("Due = %v, %q, %v; want %v, %q, %v", due, rule.Name, ok, tt.due, tt.rule, tt.ok)
			}
			onTime, missed, err := dl.OnTime(tt.rep, tt.nation, tt.due)
			if !tt.ok {
				if !errors.Is(err, ErrNoDeadline) || !onTime {
					t.Errorf("OnTime without a rule = %v, %v", onTime, err)
				}
				return
			}
			if err != nil || !onTime || len(missed) != 0 {
				t.Errorf("received exactly at the deadline: %v %v %v", onTime, missed, err)
			}
			onTime, missed, _ = dl.OnTime(tt.rep, tt.nation, tt.due.Add(time.Millisecond))
			if onTime || len(missed) == 0 || missed[0].Rule.Name != tt.rule {
				t.Errorf("one millisecond late: %v %v", onTime, missed)
			}
		})
	}
}

func ptr[T any](v T) *T { return &v }

func TestObligationsUS(t *testing.T) {
	det := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	paid := det.Add(10 * time.Hour)
	r := &Report{DetectedAt: det, Impact: ImpactSevere, Ransom: &Ransom{Paid: true, PaidAt: &paid}}
	obs := DefaultDeadlines().Obligations(r, "US")
	if len(obs) != 2 || obs[0].Rule.Name != "circia-ransom" || obs[1].Rule.Name != "circia-covered" {
		t.Fatalf("obligations %+v", obs)
	}
	// Received 40 hours after detection: the ransom report (due at 34h) is late, the
	// covered incident report (72h) is not.
	onTime, missed, err := DefaultDeadlines().OnTime(r, "US", det.Add(40*time.Hour))
	if err != nil || onTime || len(missed) != 1 || missed[0].Rule.Name != "circia-ransom" {
		t.Errorf("OnTime = %v %+v %v", onTime, missed, err)
	}
}

func TestLoadDeadlines(t *testing.T) {
	custom, err := LoadDeadlines(strings.NewReader(`{"JP":[{"name":"nisc","law":"by agreement","hours":24,"from":"detected","min_impact":"minor"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	det := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	if due, _, ok := custom.Due(&Report{DetectedAt: det, Impact: ImpactMinor}, "JP"); !ok || !due.Equal(det.Add(24*time.Hour)) {
		t.Errorf("configured JP deadline = %v %v", due, ok)
	}
	bad := map[string]string{
		"not json":      `{`,
		"unknown field": `{"JP":[{"name":"a","hours":1,"from":"detected","min_impact":"none","grace":1}]}`,
		"nation":        `{"japan":[]}`,
		"name":          `{"JP":[{"name":"A B","hours":1,"from":"detected","min_impact":"none"}]}`,
		"twice":         `{"JP":[{"name":"a","hours":1,"from":"detected","min_impact":"none"},{"name":"a","hours":2,"from":"detected","min_impact":"none"}]}`,
		"zero hours":    `{"JP":[{"name":"a","hours":0,"from":"detected","min_impact":"none"}]}`,
		"many hours":    `{"JP":[{"name":"a","hours":8761,"from":"detected","min_impact":"none"}]}`,
		"from":          `{"JP":[{"name":"a","hours":1,"from":"started","min_impact":"none"}]}`,
		"impact":        `{"JP":[{"name":"a","hours":1,"from":"detected","min_impact":"high"}]}`,
		"trailing":      `{"JP":[]} {}`,
	}
	for name, doc := range bad {
		if _, err := LoadDeadlines(strings.NewReader(doc)); !errors.Is(err, ErrData) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	if _, err := LoadDeadlines(strings.NewReader(string(DefaultDeadlinesJSON()))); err != nil {
		t.Errorf("shipped deadlines: %v", err)
	}
}

func TestJudge(t *testing.T) {
	dl := DefaultDeadlines()
	det := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	initial := &Report{DetectedAt: det, Impact: ImpactSignificant}
	paidAt := det.Add(50 * time.Hour)
	withRansom := &Report{DetectedAt: det, Impact: ImpactSignificant, Ransom: &Ransom{Demanded: true, Paid: true, PaidAt: &paidAt}}

	// US: the initial report at 10h meets the 72h clock; the payment reported in an
	// update 30 hours after paying misses its 24h clock, although the first version
	// came long before.
	vs := dl.Judge("US", []Version{{initial, det.Add(10 * time.Hour)}, {withRansom, paidAt.Add(30 * time.Hour)}})
	if len(vs) != 2 {
		t.Fatalf("verdicts %+v", vs)
	}
	byRule := map[string]Verdict{}
	for _, v := range vs {
		byRule[v.Rule.Name] = v
	}
	if v := byRule["circia-covered"]; !v.OnTime || !v.MetAt.Equal(det.Add(10*time.Hour)) {
		t.Errorf("covered: %+v", v)
	}
	if v := byRule["circia-ransom"]; v.OnTime || !v.MetAt.Equal(paidAt.Add(30*time.Hour)) || !v.Due.Equal(paidAt.Add(24*time.Hour)) {
		t.Errorf("ransom: %+v", v)
	}

	// AU: a minor incident reported at 60h (on time for 72h) later found
	// significant: the 12h rule first applied with the update at 80h, late.
	minor := &Report{DetectedAt: det, Impact: ImpactMinor}
	vs = dl.Judge("AU", []Version{{minor, det.Add(60 * time.Hour)}, {initial, det.Add(80 * time.Hour)}})
	if len(vs) != 2 || vs[0].Rule.Name != "soci-significant" || vs[0].OnTime || !vs[1].OnTime {
		t.Errorf("AU upgrade: %+v", vs)
	}
	if dl.Judge("JP", []Version{{initial, det}}) != nil || dl.Judge("AU", nil) != nil {
		t.Error("verdicts without a rule or a version")
	}
}

func TestReceiptShowsEveryVerdict(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	det := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	paidAt := det.Add(50 * time.Hour)
	rep := &Report{ID: NewID(), DetectedAt: det, Impact: ImpactSevere, Ransom: &Ransom{Paid: true, PaidAt: &paidAt}}
	// Received 72h after detection: the covered-incident clock is met exactly, the
	// ransom clock (due at 74h) too.
	rc, err := NewReceipt(rep, 1, det.Add(72*time.Hour), "US", DefaultDeadlines().Judge("US", []Version{{rep, det.Add(72 * time.Hour)}}), priv)
	if err != nil || rc.Rule != "circia-covered" || !*rc.OnTime || !rc.Due.Equal(det.Add(72*time.Hour)) {
		t.Errorf("receipt %+v %v", rc, err)
	}
	// At 75h the ransom clock is missed although the earliest one was the other.
	rc, err = NewReceipt(rep, 1, det.Add(75*time.Hour), "US", DefaultDeadlines().Judge("US", []Version{{rep, det.Add(75 * time.Hour)}}), priv)
	if err != nil || *rc.OnTime {
		t.Errorf("late receipt %+v %v", rc, err)
	}
}
