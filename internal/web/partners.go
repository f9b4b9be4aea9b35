package web

import (
	"context"
	"time"

	"quadshare/internal/audit"
	"quadshare/internal/store"
)

// partnerRow is one partner node on the dashboard: the object versions that
// went to it and came from it in the last day and week, and the health of the
// link (the figures of `quadshare peer status`).
type partnerRow struct {
	Name, Nation           string
	SentDay, SentWeek      int64 // object versions released to it: its outbox and its own reads
	ReceivedDay, RecvWeek  int64 // object versions received from it and stored
	Depth                  int64 // queued for it, not yet acknowledged
	Lag                    string
	LastSuccess, LastError time.Time
	Error                  string
	State                  string // "ok", "failing", "never connected"
}

// partnerTraffic reads the partners and their traffic from the trail: a
// disclosure to the partner's nation ("peer:JP", the outbox) or to one of its
// users ("peer:JP:<user>", its pulls over TAXII) is a sending; a receipt of a
// put by the peer ("peer:<name>") a receiving. Each count is one indexed query of
// the trail by actor and time, per partner and period.
func (s *Server) partnerTraffic(ctx context.Context, now time.Time) ([]partnerRow, error) {
	peers, err := s.st.Peers(ctx)
	if err != nil || len(peers) == 0 {
		return nil, err
	}
	users, err := s.st.Users(ctx)
	if err != nil {
		return nil, err
	}
	orgs, err := s.st.Organisations(ctx)
	if err != nil {
		return nil, err
	}
	nationOf := make(map[string]string, len(orgs))
	for _, o := range orgs {
		nationOf[o.ID] = o.Nation
	}
	var out []partnerRow
	for _, p := range peers {
		actors := []string{"peer:" + p.Nation, "peer:" + p.Name}
		for _, u := range users {
			if u.Role == store.RolePeer && nationOf[u.Org] == p.Nation && len(actors) < store.MaxTallyActors {
				actors = append(actors, "peer:"+p.Nation+":"+u.ID)
			}
		}
		row := partnerRow{Name: p.Name, Nation: p.Nation, Depth: p.Depth, LastSuccess: p.LastSuccess, LastError: p.LastErrorAt,
			Error: clip(p.LastError), Lag: "—"}
		if !p.OldestQueue.IsZero() {
			row.Lag = max(0, now.Sub(p.OldestQueue)).Round(time.Second).String()
		}
		switch {
		case p.LastSuccess.IsZero():
			row.State = "never connected"
		case p.LastErrorAt.After(p.LastSuccess):
			row.State = "failing"
		default:
			row.State = "ok"
		}
		for _, w := range []struct {
			since          time.Duration
			sent, received *int64
		}{{24 * time.Hour, &row.SentDay, &row.ReceivedDay}, {7 * 24 * time.Hour, &row.SentWeek, &row.RecvWeek}} {
			counts, err := s.st.AuditTally(ctx, actors, now.Add(-w.since))
			if err != nil {
				return nil, err
			}
			for _, c := range counts {
				switch {
				// "redacted" records repeat the versions of a disclosure to list what was removed.
				case c.Kind == audit.Disclosure && c.Rule != "redacted":
					*w.sent += c.Objects
				case c.Kind == audit.Receipt:
					*w.received += c.Objects
				}
			}
		}
		out = append(out, row)
	}
	return out, nil
}

// partnerChart draws each partner's week: versions sent and received side by side.
func partnerChart(rows []partnerRow) chart {
	labels := make([]string, 0, len(rows))
	sent := make([]int, 0, len(rows))
	recv := make([]int, 0, len(rows))
	for _, r := range rows {
		labels = append(labels, r.Name)
		sent = append(sent, int(min(r.SentWeek, 1<<31-1)))
		recv = append(recv, int(min(r.RecvWeek, 1<<31-1)))
	}
	return pairChart("Object versions exchanged with each partner in the last 7 days", labels, "sent", sent, "received", recv)
}
