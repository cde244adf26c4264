// Package s3blob is the S3 blob.Store (MinIO, AWS S3 and compatibles),
// through minio-go. Objects stream both ways: Put uploads in parts when the
// size is unknown or large, and Open returns minio-go's lazily fetched,
// seekable object, so a Range request reads only the bytes it needs.
package s3blob

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strings"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"
	"github.com/minio/minio-go/v7/pkg/s3utils"

	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/errs"
)

const (
	// partSize bounds memory per upload: minio-go buffers one part at a
	// time, and without it an upload of unknown size would be sized for
	// S3's 5 TiB maximum (over 500 MiB per part). 16 MiB parts allow
	// objects up to 160 GB, far beyond any course package.
	partSize = 16 << 20

	// pingTimeout keeps /readyz quick when S3 does not answer.
	pingTimeout = 3 * time.Second

	// maxRetries keeps a failing S3 from stalling requests for long; the
	// caller gets ErrUnavailable and can answer 503.
	maxRetries = 3
)

// Config says how to reach the bucket.
type Config struct {
	// Endpoint is host[:port]. An "http://" or "https://" prefix is also
	// accepted and must agree with UseTLS.
	Endpoint  string
	AccessKey string
	SecretKey string
	Bucket    string
	// Region is optional for MinIO; AWS needs the bucket's region.
	Region string
	UseTLS bool
}

// Store keeps objects in one S3 bucket. It is safe for concurrent use.
type Store struct {
	c      *minio.Client
	bucket string
}

var _ blob.Store = (*Store)(nil)

// New connects to the bucket, creating it if it does not exist. A bad
// setting gets an error of kind errs.Invalid naming it; an unreachable
// server gets one wrapping blob.ErrUnavailable.
func New(ctx context.Context, cfg Config) (*Store, error) {
	endpoint := cfg.Endpoint
	if strings.Contains(endpoint, "://") {
		u, err := url.Parse(endpoint)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") {
			return nil, errs.E(errs.Invalid, "S3 endpoint %q: want host[:port] or http(s)://host[:port]", cfg.Endpoint)
		}
		if (u.Scheme == "https") != cfg.UseTLS {
			return nil, errs.E(errs.Invalid, "S3 endpoint %q: scheme %s disagrees with the TLS setting (%v)", cfg.Endpoint, u.Scheme, cfg.UseTLS)
		}
		endpoint = u.Host
	}
	switch {
	case endpoint == "":
		return nil, errs.E(errs.Invalid, "S3 endpoint is empty")
	case strings.ContainsAny(endpoint, "/ "):
		return nil, errs.E(errs.Invalid, "S3 endpoint %q: want host[:port]", cfg.Endpoint)
	case (cfg.AccessKey == "") != (cfg.SecretKey == ""):
		return nil, errs.E(errs.Invalid, "S3 access key and secret key must be set together")
	}
	if err := s3utils.CheckValidBucketNameStrict(cfg.Bucket); err != nil {
		return nil, errs.E(errs.Invalid, "S3 bucket %q: %v", cfg.Bucket, err)
	}
	var creds *credentials.Credentials
	if cfg.AccessKey != "" {
		creds = credentials.NewStaticV4(cfg.AccessKey, cfg.SecretKey, "")
	} else {
		creds = credentials.NewStatic("", "", "", credentials.SignatureAnonymous)
	}
	c, err := minio.New(endpoint, &minio.Options{
		Creds:      creds,
		Secure:     cfg.UseTLS,
		Region:     cfg.Region,
		MaxRetries: maxRetries,
	})
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "S3 endpoint %q", cfg.Endpoint)
	}
	s := &Store{c: c, bucket: cfg.Bucket}
	exists, err := c.BucketExists(ctx, cfg.Bucket)
	if err != nil {
		return nil, s.classify(ctx, "check bucket", err)
	}
	if !exists {
		err := c.MakeBucket(ctx, cfg.Bucket, minio.MakeBucketOptions{Region: cfg.Region})
		// Another replica starting at the same time may have made it.
		if err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
			return nil, s.classify(ctx, "create bucket", err)
		}
	}
	return s, nil
}

// Bucket returns the bucket's name.
func (s *Store) Bucket() string { return s.bucket }

// classify maps a minio-go error: absent objects to blob.ErrNotFound,
// failures to reach S3 (network errors, 5xx, throttling) to an
// errs.Unavailable error wrapping blob.ErrUnavailable, and the caller's own
// cancellation to itself.
func (s *Store) classify(ctx context.Context, op string, err error) error {
	if err == nil {
		return nil
	}
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return ctx.Err()
	}
	resp := minio.ToErrorResponse(err)
	switch resp.Code {
	case minio.NoSuchKey:
		return blob.ErrNotFound
	case minio.NoSuchBucket, "SlowDown", "ServiceUnavailable", "InternalError", "XMinioServerNotInitialized":
		return unavailable(op, err)
	}
	var netErr net.Error
	var urlErr *url.Error
	if resp.StatusCode >= 500 || errors.As(err, &netErr) || errors.As(err, &urlErr) ||
		errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) {
		return unavailable(op, err)
	}
	return fmt.Errorf("s3 %s: %w", op, err)
}

func unavailable(op string, err error) error {
	return &errs.Error{Kind: errs.Unavailable, Message: "object store unavailable",
		Err: fmt.Errorf("%w: s3 %s: %w", blob.ErrUnavailable, op, err)}
}

// errTooLong fails an upload whose reader yields more than the declared size.
var errTooLong = errors.New("blob source is longer than the declared size")

// exactReader yields exactly n bytes of r, failing the read that would
// complete the object if r holds more. Failing before the last bytes are
// handed over matters: minio-go stops reading at the declared size, so a
// check after the upload would come too late to keep the object out.
type exactReader struct {
	r io.Reader
	n int64
}

func (e *exactReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.EOF
	}
	if int64(len(p)) > e.n {
		p = p[:e.n]
	}
	k, err := e.r.Read(p)
	e.n -= int64(k)
	if e.n == 0 {
		var probe [1]byte
		for {
			m, perr := e.r.Read(probe[:])
			if m > 0 {
				return 0, errTooLong
			}
			if perr == io.EOF {
				break
			}
			if perr != nil {
				return 0, perr
			}
		}
		return k, nil
	}
	if err == io.EOF {
		return k, io.ErrUnexpectedEOF
	}
	return k, err
}

// Put implements blob.Store. S3 makes an object visible only when its
// upload completes, so a failed Put (including an aborted multipart upload)
// leaves nothing and an overwritten object as it was.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	ct, err := blob.ValidateContentType(contentType)
	if err != nil {
		return err
	}
	if size < -1 {
		return errs.E(errs.Invalid, "invalid blob size %d", size)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if size >= 0 {
		r = &exactReader{r: r, n: size}
	}
	_, err = s.c.PutObject(ctx, s.bucket, key, r, size, minio.PutObjectOptions{
		ContentType: ct,
		PartSize:    partSize,
	})
	if err != nil {
		if errors.Is(err, errTooLong) {
			return errs.E(errs.Invalid, "blob %q: got more than the declared %d bytes", key, size)
		}
		if errors.Is(err, io.ErrUnexpectedEOF) && size >= 0 {
			return errs.E(errs.Invalid, "blob %q: got fewer than the declared %d bytes", key, size)
		}
		return s.classify(ctx, "put "+key, err)
	}
	return nil
}

// object adapts minio-go's object, which fetches ranges as it is read and
// sought, to blob.Object.
type object struct {
	*minio.Object
	info blob.Info
}

func (o *object) Info() blob.Info { return o.info }

func toInfo(oi minio.ObjectInfo) blob.Info {
	return blob.Info{
		Key:         oi.Key,
		Size:        oi.Size,
		ContentType: oi.ContentType,
		ModTime:     oi.LastModified,
		ETag:        strings.Trim(oi.ETag, `"`),
	}
}

// Open implements blob.Store. The first request is made here, so an absent
// key is reported by Open rather than by the first Read.
func (s *Store) Open(ctx context.Context, key string) (blob.Object, error) {
	if err := blob.ValidateKey(key); err != nil {
		return nil, err
	}
	o, err := s.c.GetObject(ctx, s.bucket, key, minio.GetObjectOptions{})
	if err != nil {
		return nil, s.classify(ctx, "get "+key, err)
	}
	oi, err := o.Stat()
	if err != nil {
		o.Close()
		return nil, s.classify(ctx, "get "+key, err)
	}
	return &object{Object: o, info: toInfo(oi)}, nil
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := blob.ValidateKey(key); err != nil {
		return blob.Info{}, err
	}
	oi, err := s.c.StatObject(ctx, s.bucket, key, minio.StatObjectOptions{})
	if err != nil {
		return blob.Info{}, s.classify(ctx, "stat "+key, err)
	}
	return toInfo(oi), nil
}

// Delete implements blob.Store; S3 already treats deleting an absent key
// as success.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	return s.classify(ctx, "delete "+key, s.c.RemoveObject(ctx, s.bucket, key, minio.RemoveObjectOptions{}))
}

// List implements blob.Store. S3 lists in key (UTF-8 byte) order. Listings
// carry no content type on AWS (MinIO includes it when asked), so a key
// listed without one is looked up with a HEAD request.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	if strings.Contains(prefix, `\`) || strings.HasPrefix(prefix, "/") {
		return errs.E(errs.Invalid, "invalid blob prefix %q", prefix)
	}
	// Cancelling stops minio-go's listing goroutine if fn returns early.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	for oi := range s.c.ListObjects(ctx, s.bucket, minio.ListObjectsOptions{Prefix: prefix, Recursive: true, WithMetadata: true}) {
		if oi.Err != nil {
			return s.classify(ctx, "list "+prefix, oi.Err)
		}
		info := toInfo(oi)
		if info.ContentType == "" {
			info.ContentType = metadata(oi.UserMetadata, "Content-Type")
		}
		if info.ContentType == "" {
			st, err := s.Stat(ctx, oi.Key)
			if errors.Is(err, blob.ErrNotFound) {
				continue // deleted while listing
			}
			if err != nil {
				return err
			}
			info.ContentType = st.ContentType
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return ctx.Err()
}

func metadata(m minio.StringMap, name string) string {
	for k, v := range m {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// Ping implements blob.Store: the bucket must exist and answer within a
// few seconds.
func (s *Store) Ping(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, pingTimeout)
	defer cancel()
	ok, err := s.c.BucketExists(ctx, s.bucket)
	if err != nil {
		return unavailable("ping", err)
	}
	if !ok {
		return unavailable("ping", fmt.Errorf("bucket %q does not exist", s.bucket))
	}
	return nil
}
