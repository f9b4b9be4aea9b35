package report

import (
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"quadshare/internal/stix"
)

// Receipt acknowledges one submission. The node signs it so that the operator can
// later prove what it reported and when, whatever the node's records say.
type Receipt struct {
	ReportID       string    `json:"report_id"`
	IdempotencyKey string    `json:"idempotency_key,omitempty"`
	Version        int       `json:"version"`      // 1 for the first submission, then 2, 3, ...
	Received       time.Time `json:"received"`     // the node's clock, UTC, to the millisecond
	ContentHash    string    `json:"content_hash"` // Report.Hash of the report as accepted
	Node           string    `json:"node"`         // the receiving node: its nation or name
	// Due and Rule are the reporting deadline in force for the report when it was
	// received, if any, and OnTime whether the first submission met it.
	Due    *time.Time `json:"due,omitempty"`
	Rule   string     `json:"rule,omitempty"`
	OnTime *bool      `json:"on_time,omitempty"`
	// Signature is the Ed25519 signature (RFC 8032), base64 (RFC 4648 §4), over the
	// RFC 8785 canonical JSON of the receipt without this member.
	Signature string `json:"signature,omitempty"`
}

// ErrReceipt is wrapped by every receipt verification failure.
var ErrReceipt = errors.New("report: receipt does not verify")

// NewReceipt makes and signs the receipt of rep, received at received as version
// version. verdicts are the deadlines of the report's jurisdiction as
// Deadlines.Judge gives them over every version up to this one (nil when none
// applies): the receipt shows the earliest due time, its rule, and whether every
// obligation was met on time.
func NewReceipt(rep *Report, version int, received time.Time, node string, verdicts []Verdict, key ed25519.PrivateKey) (*Receipt, error) {
	if rep.ID == "" {
		return nil, errors.New("report: receipt: the report has no id")
	}
	if version < 1 {
		return nil, errors.New("report: receipt: versions count from 1")
	}
	if len(key) != ed25519.PrivateKeySize {
		return nil, errors.New("report: receipt: not an Ed25519 private key")
	}
	h, err := rep.Hash()
	if err != nil {
		return nil, err
	}
	rc := &Receipt{
		ReportID:       rep.ID,
		IdempotencyKey: rep.IdempotencyKey,
		Version:        version,
		Received:       received.UTC().Truncate(time.Millisecond),
		ContentHash:    h,
		Node:           node,
	}
	if len(verdicts) > 0 {
		first := slices.MinFunc(verdicts, func(a, b Verdict) int { return a.Due.Compare(b.Due) })
		due := first.Due.UTC()
		onTime := !slices.ContainsFunc(verdicts, func(v Verdict) bool { return !v.OnTime })
		rc.Due, rc.Rule, rc.OnTime = &due, first.Rule.Name, &onTime
	}
	msg, err := rc.signed()
	if err != nil {
		return nil, err
	}
	rc.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(key, msg))
	return rc, nil
}

// signed returns the bytes the signature covers.
func (rc *Receipt) signed() ([]byte, error) {
	c := *rc
	c.Signature = ""
	raw, err := json.Marshal(&c)
	if err != nil {
		return nil, fmt.Errorf("report: receipt: %w", err)
	}
	out, err := stix.Canonical(raw)
	if err != nil {
		return nil, fmt.Errorf("report: receipt: %w", err)
	}
	return out, nil
}

// Verify checks the receipt's signature with the node's public key.
func (rc *Receipt) Verify(pub ed25519.PublicKey) error {
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("%w: not an Ed25519 public key", ErrReceipt)
	}
	sig, err := base64.StdEncoding.DecodeString(rc.Signature)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("%w: the signature is not a base64 Ed25519 signature", ErrReceipt)
	}
	msg, err := rc.signed()
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("%w: bad signature", ErrReceipt)
	}
	return nil
}

// Matches reports whether the receipt is for exactly this report content.
func (rc *Receipt) Matches(rep *Report) bool {
	h, err := rep.Hash()
	return err == nil && rep.ID == rc.ReportID && h == rc.ContentHash
}

// IsRetry reports whether rep, submitted with an idempotency key that an earlier
// accepted submission used (rc is that submission's receipt), is the same
// submission again: same key and same content, the report id of a retried first
// submission taken from the receipt. The caller then answers with rc and stores
// nothing; false means the key was reused for other content, which is refused.
func IsRetry(rc *Receipt, rep *Report) bool {
	if rep.IdempotencyKey == "" || rep.IdempotencyKey != rc.IdempotencyKey {
		return false
	}
	c := *rep
	if c.ID == "" {
		c.ID = rc.ReportID
	}
	return rc.Matches(&c)
}
