package federation

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"quadshare/internal/auth"
	"quadshare/internal/httpx"
	"quadshare/internal/store"
)

// serveMetrics writes per-peer figures in the Prometheus text format (version 0.0.4),
// from the store, so that every process sharing a database reports the same.
func (s *Service) serveMetrics(w http.ResponseWriter, r *http.Request) error {
	p, ok := auth.FromContext(r.Context())
	if !ok || p.User.Role != store.RoleAdmin || !p.User.DisabledAt.IsZero() {
		return httpx.Forbidden("Metrics are for administrators.")
	}
	peers, err := s.st.Peers(r.Context())
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/plain; version=0.0.4; charset=utf-8")
	_, err = w.Write([]byte(Metrics(peers, time.Now())))
	return err
}

// Metrics renders peers as Prometheus metrics.
func Metrics(peers []store.Peer, now time.Time) string {
	var b strings.Builder
	seconds := func(t time.Time) float64 {
		if t.IsZero() {
			return 0
		}
		return float64(t.UnixMicro()) / 1e6
	}
	series := []struct {
		name, typ, help string
		value           func(p *store.Peer) float64
	}{
		{"quadshare_peer_queue_depth", "gauge", "Object versions queued for the peer and not yet acknowledged.", func(p *store.Peer) float64 { return float64(p.Depth) }},
		{"quadshare_peer_lag_seconds", "gauge", "Age of the oldest object version waiting for the peer (0 when none).", func(p *store.Peer) float64 {
			if p.OldestQueue.IsZero() {
				return 0
			}
			return max(0, now.Sub(p.OldestQueue).Seconds())
		}},
		{"quadshare_peer_queued_total", "counter", "Object versions queued for the peer.", func(p *store.Peer) float64 { return float64(p.Queued) }},
		{"quadshare_peer_pushed_total", "counter", "Object versions the peer acknowledged.", func(p *store.Peer) float64 { return float64(p.Pushed) }},
		{"quadshare_peer_received_total", "counter", "Object versions received from the peer and stored.", func(p *store.Peer) float64 { return float64(p.Pulled) }},
		{"quadshare_peer_rejected_total", "counter", "Object versions from the peer refused (invalid, bad signature).", func(p *store.Peer) float64 { return float64(p.Rejected) }},
		{"quadshare_peer_conflicts_total", "counter", "Object versions from the peer whose id and version we held with other content.", func(p *store.Peer) float64 { return float64(p.Conflicts) }},
		{"quadshare_peer_last_success_timestamp_seconds", "gauge", "Last exchange with the peer that worked.", func(p *store.Peer) float64 { return seconds(p.LastSuccess) }},
		{"quadshare_peer_last_error_timestamp_seconds", "gauge", "Last failure with the peer.", func(p *store.Peer) float64 { return seconds(p.LastErrorAt) }},
	}
	for _, m := range series {
		fmt.Fprintf(&b, "# HELP %s %s\n# TYPE %s %s\n", m.name, m.help, m.name, m.typ)
		for i := range peers {
			// names and nations are restricted to characters that need no escaping
			fmt.Fprintf(&b, "%s{peer=%q,nation=%q} %g\n", m.name, peers[i].Name, peers[i].Nation, m.value(&peers[i]))
		}
	}
	return b.String()
}
