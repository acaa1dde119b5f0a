package export

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/apisessions/apisessions/internal/wire"
)

// Options configures an Exporter. Zero fields take their defaults from
// DefaultOptions, except URL, which is required.
type Options struct {
	// URL is the server's ingest endpoint
	// ("https://server.example.com/api/v1/ingest").
	URL string
	// Token is the node token sent as "Authorization: Bearer TOKEN".
	Token string
	// Node names this node in every batch; default: the host name.
	Node string

	// BatchSize is the number of records that seals a batch. The server
	// accepts up to wire.DefaultLimits().MaxRecords.
	BatchSize int
	// BatchBytes seals a batch earlier when its records' estimated JSON
	// size reaches it, so that batches of malicious requests (with their
	// content) stay well under the server's decompressed limit.
	BatchBytes int
	// FlushInterval bounds how long a record waits in a batch that is not
	// full, so that a quiet node still reports within seconds.
	FlushInterval time.Duration
	// QueueBatches is the number of sealed batches held in memory while
	// one is being sent. Beyond it batches go to the spool (or, without a
	// spool, the oldest queued batch is dropped). It bounds memory while
	// the server is slow or down.
	QueueBatches int

	// SpoolDir holds batches the server could not take yet, one file per
	// batch, replayed oldest first when it recovers and after a restart.
	// Empty: no spool.
	SpoolDir string
	// SpoolLimit bounds the spool in bytes. When a new batch does not fit,
	// the oldest spooled batches are dropped (and counted): recent traffic
	// is worth more to an analyst than traffic that is about to age out.
	SpoolLimit int64

	// MinBackoff and MaxBackoff bound the delay between attempts to send a
	// batch: exponential from MinBackoff, with jitter, capped at MaxBackoff
	// (a server's Retry-After is honoured up to MaxBackoff).
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// CloseTimeout bounds how long Close keeps trying to send what is in
	// memory before it spools (or drops) the rest.
	CloseTimeout time.Duration

	// Limits are the record limits the server applies; Add refuses a
	// record over them so that one bad record cannot get a whole batch
	// rejected.
	Limits wire.Limits

	// Client sends the batches; default: a client with a 30 s timeout.
	Client *http.Client
	// Logger receives warnings about failed sends and drops; default:
	// discard.
	Logger *slog.Logger
	// Registerer, when set, receives the exporter's metrics.
	Registerer prometheus.Registerer
	// Now is the clock; default time.Now.
	Now func() time.Time
}

// DefaultOptions returns the defaults of every optional field.
func DefaultOptions() Options {
	return Options{
		BatchSize:     1000,
		BatchBytes:    8 << 20,
		FlushInterval: time.Second,
		QueueBatches:  4,
		SpoolLimit:    256 << 20,
		MinBackoff:    200 * time.Millisecond,
		MaxBackoff:    30 * time.Second,
		CloseTimeout:  10 * time.Second,
		Limits:        wire.DefaultLimits(),
	}
}

// Validate reports the first option that cannot work, naming it. New does
// not fail; callers that take options from users validate them first.
func (o Options) Validate() error {
	u, err := url.Parse(o.URL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return errors.New("export url must be an absolute http or https URL")
	}
	lim := o.Limits
	if lim.MaxRecords == 0 {
		lim.MaxRecords = wire.DefaultLimits().MaxRecords
	}
	switch {
	case o.BatchSize < 0 || o.BatchSize > lim.MaxRecords:
		return fmt.Errorf("export batch size must be between 1 and %d", lim.MaxRecords)
	case o.BatchBytes < 0:
		return errors.New("export batch bytes must not be negative")
	case o.FlushInterval < 0:
		return errors.New("export flush interval must not be negative")
	case o.QueueBatches < 0:
		return errors.New("export queue batches must not be negative")
	case o.SpoolLimit < 0:
		return errors.New("export spool limit must not be negative")
	case o.MinBackoff < 0 || o.MaxBackoff < 0 || (o.MaxBackoff > 0 && o.MinBackoff > o.MaxBackoff):
		return errors.New("export backoff must satisfy 0 <= min <= max")
	case len(o.Node) > 255:
		return errors.New("export node name must be at most 255 bytes")
	}
	return nil
}

func (o Options) withDefaults() Options {
	d := DefaultOptions()
	if o.BatchSize <= 0 {
		o.BatchSize = d.BatchSize
	}
	if o.BatchBytes <= 0 {
		o.BatchBytes = d.BatchBytes
	}
	if o.FlushInterval <= 0 {
		o.FlushInterval = d.FlushInterval
	}
	if o.QueueBatches <= 0 {
		o.QueueBatches = d.QueueBatches
	}
	if o.SpoolLimit <= 0 {
		o.SpoolLimit = d.SpoolLimit
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = d.MinBackoff
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = d.MaxBackoff
	}
	if o.MaxBackoff < o.MinBackoff {
		o.MaxBackoff = o.MinBackoff
	}
	if o.CloseTimeout <= 0 {
		o.CloseTimeout = d.CloseTimeout
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
