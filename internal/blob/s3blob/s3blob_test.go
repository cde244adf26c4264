package s3blob

import (
	"context"
	"errors"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/blob/blobtest"
	"github.com/reach-london/reach/internal/errs"
	"github.com/reach-london/reach/internal/testenv"
)

func newTestStore(t *testing.T) *Store {
	t.Helper()
	m := testenv.MinIO(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := New(ctx, Config{Endpoint: m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: m.Bucket})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { removeBucket(t, s) })
	return s
}

// removeBucket empties and removes the test's bucket so runs do not pile up
// buckets on a long-lived MinIO.
func removeBucket(t *testing.T, s *Store) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var keys []string
	_ = s.List(ctx, "", func(i blob.Info) error { keys = append(keys, i.Key); return nil })
	for _, k := range keys {
		_ = s.Delete(ctx, k)
	}
	if err := s.c.RemoveBucket(ctx, s.bucket); err != nil {
		t.Logf("remove bucket %s: %v", s.bucket, err)
	}
}

func TestContract(t *testing.T) {
	blobtest.Run(t, func(t *testing.T) blob.Store { return newTestStore(t) })
}

func TestNewCreatesBucketOnce(t *testing.T) {
	s := newTestStore(t)
	m := testenv.MinIO(t)
	// A second replica starting on the same, now existing, bucket.
	s2, err := New(context.Background(), Config{Endpoint: "http://" + m.Endpoint, AccessKey: m.AccessKey, SecretKey: m.SecretKey, Bucket: s.Bucket()})
	if err != nil {
		t.Fatalf("New on an existing bucket: %v", err)
	}
	if err := s.Put(context.Background(), "k", strings.NewReader("v"), 1, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Stat(context.Background(), "k"); err != nil {
		t.Errorf("second store does not see the first's object: %v", err)
	}
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name    string
		cfg     Config
		wantMsg string
	}{
		{"empty endpoint", Config{Bucket: "reach"}, "S3 endpoint is empty"},
		{"endpoint with path", Config{Endpoint: "http://minio:9000/x", Bucket: "reach"}, "want host[:port]"},
		{"scheme disagrees with TLS", Config{Endpoint: "https://minio:9000", Bucket: "reach"}, "disagrees with the TLS setting"},
		{"unknown scheme", Config{Endpoint: "ftp://minio", Bucket: "reach"}, "want host[:port]"},
		{"bad bucket", Config{Endpoint: "minio:9000", Bucket: "Bad_Bucket"}, `S3 bucket "Bad_Bucket"`},
		{"empty bucket", Config{Endpoint: "minio:9000"}, `S3 bucket ""`},
		{"access key without secret", Config{Endpoint: "minio:9000", Bucket: "reach", AccessKey: "a"}, "set together"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(context.Background(), tt.cfg)
			if !errs.Is(err, errs.Invalid) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("got %v, want an Invalid error containing %q", err, tt.wantMsg)
			}
		})
	}
}

func TestUnreachableIsUnavailable(t *testing.T) {
	// A port nothing listens on: take one and close it.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err = New(ctx, Config{Endpoint: addr, AccessKey: "a", SecretKey: "b", Bucket: "reach"})
	if !errors.Is(err, blob.ErrUnavailable) || !errs.Is(err, errs.Unavailable) {
		t.Errorf("New against a closed port: got %v, want ErrUnavailable", err)
	}
	// A store whose server goes away reports Unavailable from Ping.
	s := &Store{c: newTestStore(t).c, bucket: "reach-missing-" + testenv.RandomSuffix(4)}
	if err := s.Ping(context.Background()); !errors.Is(err, blob.ErrUnavailable) {
		t.Errorf("Ping of a missing bucket: got %v, want ErrUnavailable", err)
	}
}

func TestExactReader(t *testing.T) {
	tests := []struct {
		name    string
		src     string
		n       int64
		want    string
		wantErr error
	}{
		{"exact", "hello", 5, "hello", nil},
		{"empty", "", 0, "", nil},
		{"short", "hel", 5, "hel", io.ErrUnexpectedEOF},
		{"long", "hello!", 5, "", errTooLong},
		{"long by a lot", strings.Repeat("x", 100), 5, "", errTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// iotest-style one-byte reads exercise the boundary logic.
			got, err := io.ReadAll(&exactReader{r: oneByte{strings.NewReader(tt.src)}, n: tt.n})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err: got %v, want %v", err, tt.wantErr)
			}
			if tt.wantErr == nil && string(got) != tt.want {
				t.Errorf("got %q, want %q", got, tt.want)
			}
			// The final byte of an over-long source is never handed over.
			if tt.wantErr == errTooLong && int64(len(got)) >= tt.n {
				t.Errorf("handed over %d bytes of an over-long source, want fewer than %d", len(got), tt.n)
			}
		})
	}
}

type oneByte struct{ r io.Reader }

func (o oneByte) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	return o.r.Read(p[:1])
}
