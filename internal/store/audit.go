package store

import (
	"context"

	"quadshare/internal/audit"
)

// Audit keeps the tamper-evident audit trail (package audit) in the same database
// as everything else. Backends also append records themselves, inside the
// transaction of the action recorded: a receipt for every Put, an admin action for
// every change of accounts, collections or grants and for every Delete.
type Audit interface {
	// AppendAudit chains entries after the last record, in order, and returns once
	// they are durable. Concurrent calls may share one transaction (group commit).
	AppendAudit(ctx context.Context, entries ...audit.Entry) error
	// AuditRecords and AuditCheckpoints page through the trail as audit.Source does.
	AuditRecords(ctx context.Context, afterSeq int64, limit int) ([]audit.Record, error)
	AuditCheckpoints(ctx context.Context, afterSeq int64, limit int) ([]audit.Checkpoint, error)
	// SignAuditCheckpoint signs a checkpoint of the last record now (at shutdown,
	// before a backup); it does nothing on an empty trail.
	SignAuditCheckpoint(ctx context.Context) error
}

type actorKey struct{}

// WithActor returns a context naming who acts ("user:<id>", "node:<id>",
// "peer:<name>"); backends put it in the audit records they append.
func WithActor(ctx context.Context, actor string) context.Context {
	return context.WithValue(ctx, actorKey{}, actor)
}

// ActorFrom returns the actor named by WithActor, or "" when none.
func ActorFrom(ctx context.Context) string {
	a, _ := ctx.Value(actorKey{}).(string)
	return a
}
