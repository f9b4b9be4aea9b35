// Package store defines the storage that quadshare needs, shaped like the domain: STIX
// object versions in collections queried with TAXII filters, statuses of asynchronous
// additions, and the organisations, users and tokens that authenticate clients.
// Backends live in sub-packages; storetest is the suite every backend passes.
package store

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"quadshare/internal/stix"
)

// Sentinel errors; backends wrap them so callers compare with errors.Is.
var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
)

// Store is everything a quadshare node keeps. Every method is safe for concurrent use.
type Store interface {
	Objects
	Statuses
	Accounts
	Peers
	Audit
	Jobs
	Reports
	// Close releases the store; nothing acknowledged before it returns is lost.
	Close() error
}

// Collection is a TAXII collection (TAXII 2.1 §5.2) plus what we need to own it.
type Collection struct {
	ID          string // a UUID
	Alias       string // optional, unique when set
	Title       string
	Description string
	MediaTypes  []string
	OwnerOrg    string // for an operator's inbox: the organisation it belongs to; else ""
	CreatedAt   time.Time
}

// Outcome says what Put did with one object.
type Outcome int

const (
	Added     Outcome = iota // a new version, or a known version newly added to this collection
	Duplicate                // the same object (the same canonical JSON, stix.SameMeaning) under the same (id, version) was already in the collection
	Conflict                 // a different object with the same (id, version) exists: refused, nothing written
)

func (o Outcome) String() string {
	switch o {
	case Added:
		return "added"
	case Duplicate:
		return "duplicate"
	case Conflict:
		return "conflict"
	}
	return "unknown"
}

// PutResult is the outcome for the object at the same index of a Put.
type PutResult struct {
	Outcome   Outcome
	DateAdded time.Time // when it entered the collection (for Duplicate: the first time)
}

// Entry is one object version in one collection.
type Entry struct {
	Object    stix.Object // all fields set, Created/Modified with the precision written
	DateAdded time.Time
	Submitter string // organisation id that added it ("" when unknown)
	// Collection is the id of the collection of the entry; set by Search only
	// (a Query names its one collection).
	Collection string
}

// MaxFilterValues is how many values every store takes in one filter list: ids,
// types, spec versions, exact versions.
const MaxFilterValues = 1000

// VersionFilter is TAXII's match[version] (§3.4.2). The zero value means "last".
type VersionFilter struct {
	First, Last, All bool
	Exact            []stix.Timestamp
}

// Query selects entries of one collection, in ascending date_added.
type Query struct {
	Collection   string
	AddedAfter   time.Time // exclusive; zero: from the start
	AddedUpTo    time.Time // inclusive; zero: no bound (pagination snapshots set it)
	IDs          []string
	Types        []string
	SpecVersions []string // empty: any
	Versions     VersionFilter
	Submitter    string // when set, only entries added by this organisation
	Limit        int    // > 0; backends may cap it
}

// Page is one page of a query.
type Page struct {
	Entries []Entry
	More    bool // more entries match after the last one returned
}

// SearchCandidates bounds the work of a ranking Search: the best matches are
// chosen among this many latest versions that match, the newest first. A search
// for a word that most objects contain thus costs the same in a store of a
// million objects as in one of a thousand; with fewer matches, every one is
// ranked.
const SearchCandidates = 2000

// SearchQuery is a full-text search over names and descriptions of latest
// versions. PostgreSQL returns the best matches first, among at most
// SearchCandidates of the newest; SQLite, whose ranking costs in proportion to
// the store, the newest matches first.
type SearchQuery struct {
	Text        string // words; every word must match (prefix match on the last one)
	Collections []string
	Types       []string
	Limit       int
}

// Objects keeps every version (id, modified) of every object, in collections.
type Objects interface {
	CreateCollection(ctx context.Context, c Collection) error // ErrExists on a duplicate id or alias
	Collection(ctx context.Context, idOrAlias string) (Collection, error)
	Collections(ctx context.Context) ([]Collection, error)

	// Put adds validated objects to a collection in one transaction, assigning each new
	// entry a date_added strictly greater than every date_added given before it. When Put
	// returns nil, every result is durable.
	Put(ctx context.Context, collection, submitter string, objs []stix.Object) ([]PutResult, error)
	Query(ctx context.Context, q Query) (Page, error)
	// Delete removes the matching versions of one object from a collection (TAXII §5.7)
	// and returns how many were removed.
	Delete(ctx context.Context, collection, id string, v VersionFilter, specVersions []string) (int, error)
	// Deletions is a count that changes whenever a Delete may have removed
	// entries, by whatever process shares the store: a reader holding entries it
	// read after taking one count compares it with a later one to tell whether
	// some may have been deleted since.
	Deletions(ctx context.Context) (uint64, error)
	Search(ctx context.Context, q SearchQuery) ([]Entry, error)
	// Count returns the number of entries in a collection ("" counts all object versions).
	Count(ctx context.Context, collection string) (int, error)
	// LastAdded returns the newest committed date_added of a collection (zero when it is
	// empty). Every entry committed later has a greater date_added, so it bounds a
	// paginated walk to what existed when the walk began.
	LastAdded(ctx context.Context, collection string) (time.Time, error)
}

// Status is the status resource of an addition (TAXII 2.1 §4.3).
type Status struct {
	ID               string
	Collection       string
	Owner            string // user id that made the request
	Done             bool   // "complete" when true, else "pending"
	RequestTimestamp time.Time
	Completed        time.Time // when the addition finished (Done); the status expires from it
	Total            int
	Successes        []StatusDetail
	Failures         []StatusDetail
	Pendings         []StatusDetail
}

// StatusDetail is one object in a status (TAXII 2.1 §4.3.1). Its fields are
// text every store keeps (Textual), even when they come from a client's input
// that was refused.
type StatusDetail struct {
	ID      string
	Version string
	Message string
}

// Textual returns s as text that every store can keep: PostgreSQL refuses
// U+0000 and bytes that are not UTF-8 in text and jsonb. It is for what quotes
// a client's input back (a refused object's id, an error message).
func Textual(s string) string {
	return stix.EscapeNUL(strings.ToValidUTF8(s, "\uFFFD"))
}

// Stopped is err, a store's failure, told as ctx's when ctx has ended: a
// driver cut off by its context reports what broke (a closed connection, a
// transaction already rolled back), not why.
func Stopped(ctx context.Context, err error) error {
	if err != nil && ctx.Err() != nil && !errors.Is(err, ctx.Err()) {
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return err
}

// Statuses keeps status resources.
type Statuses interface {
	PutStatus(ctx context.Context, s Status) error // insert or replace
	Status(ctx context.Context, id string) (Status, error)
	// DeleteStatusesBefore removes the statuses completed before t (one completed
	// without a time, by its request time) and returns how many. A pending status
	// stays: its addition has yet to complete it.
	DeleteStatusesBefore(ctx context.Context, t time.Time) (int, error)
}

// OrgKind is what an organisation is to this node.
type OrgKind string

const (
	KindAgency   OrgKind = "agency"   // a national agency (ours or a partner's)
	KindOperator OrgKind = "operator" // a critical-infrastructure operator
	KindPartner  OrgKind = "partner"  // a partner node
)

// Organisation is a body whose users authenticate here.
type Organisation struct {
	ID      string
	Name    string // unique
	Nation  string // ISO 3166-1 alpha-2: AU, IN, JP, US
	Kind    OrgKind
	Sectors []string
}

// Role is what a user may do.
type Role string

const (
	RoleAdmin    Role = "admin"
	RoleAnalyst  Role = "analyst"
	RoleOperator Role = "operator"
	RoleReader   Role = "reader"
	RolePeer     Role = "peer"
)

// User is an account.
type User struct {
	ID              string
	Name            string // unique
	Org             string // organisation id
	Role            Role
	CertFingerprint string // hex SHA-256 of a client certificate (peers); "" when none
	Nationality     string // ISO 3166-1 alpha-2; "" means the organisation's nation
	Clearance       string // security clearance, a label of the nationality's scale (policy.Scales); "" means none
	CreatedAt       time.Time
	DisabledAt      time.Time // zero while active
}

// Token is an API token; only a hash of its secret is kept.
type Token struct {
	ID        string // public part, shown in lists
	User      string
	Hash      []byte // SHA-256 of the secret
	CreatedAt time.Time
	ExpiresAt time.Time // zero: never
	RevokedAt time.Time // zero: valid
}

// Grant gives an organisation or a user rights on a collection.
type Grant struct {
	Collection string
	Subject    string // organisation id, user id, or "sector:<name>"
	Read       bool
	Write      bool
}

// Accounts keeps organisations, users, tokens and grants.
type Accounts interface {
	PutOrganisation(ctx context.Context, o Organisation) error // insert or update by id
	Organisation(ctx context.Context, idOrName string) (Organisation, error)
	Organisations(ctx context.Context) ([]Organisation, error)

	CreateUser(ctx context.Context, u User) error // ErrExists on a duplicate id or name
	User(ctx context.Context, idOrName string) (User, error)
	UserByCert(ctx context.Context, fingerprint string) (User, error)
	Users(ctx context.Context) ([]User, error)
	DisableUser(ctx context.Context, id string, at time.Time) error

	CreateToken(ctx context.Context, t Token) error
	Token(ctx context.Context, id string) (Token, error)
	Tokens(ctx context.Context, user string) ([]Token, error)
	RevokeToken(ctx context.Context, id string, at time.Time) error

	PutGrant(ctx context.Context, g Grant) error // insert or replace by (collection, subject)
	Grants(ctx context.Context, collection string) ([]Grant, error)
}
