package content

import (
	"bytes"
	"context"
	"database/sql"
	"errors"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/reach-london/reach/internal/auth"
	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/errs"
)

// TokenContent is the "typ" of content tokens. AuthenticateToken does not
// know this type, so a content token is useless on the app origin's API.
const TokenContent = "content"

// DefaultContentTTL is how long a content token lasts: long enough for a
// two-hour module with breaks.
const DefaultContentTTL = 8 * time.Hour

// smallFile is the largest file kept in the in-memory cache.
const smallFile = 256 << 10

// ContentToken mints the token that lets a browser read one package's
// files from the content origin (see docs/content.md). Give it to
// FileURL. ttl 0 means DefaultContentTTL.
func (s *Service) ContentToken(boroughID, packageID string, ttl time.Duration) (string, error) {
	if ttl <= 0 {
		ttl = DefaultContentTTL
	}
	return s.auth.Sign(auth.Claims{RegisteredClaims: jwt.RegisteredClaims{Subject: packageID},
		Type: TokenContent, Borough: boroughID}, ttl)
}

// FileURL is the content-origin URL of path inside a package (path may
// carry a query, as AU launch URLs do). The token rides in the path, so
// relative links inside the package keep working without cookies.
func (s *Service) FileURL(packageID, token, path string) string {
	return s.opts.ContentURL + "/p/" + url.PathEscape(packageID) + "/" + token + "/" + strings.TrimPrefix(path, "/")
}

// LaunchURL is FileURL of the AU's launch URL, or the AU's own URL when it
// is hosted elsewhere.
func (s *Service) LaunchURL(packageID, token string, au AU) string {
	if au.External {
		return au.LaunchURL
	}
	return s.FileURL(packageID, token, au.LaunchURL)
}

type tokenGrant struct {
	packageID, boroughID string
	expires              time.Time
}

// CheckContentToken verifies a content token for packageID and returns the
// borough it was issued in. Verified tokens are remembered until they
// expire, so a page with a hundred assets costs one signature check.
func (s *Service) CheckContentToken(ctx context.Context, token, packageID string) (string, error) {
	if v, ok := s.tokens.Load(token); ok {
		g := v.(tokenGrant)
		if s.now().Before(g.expires) {
			if g.packageID != packageID {
				return "", errs.E(errs.Forbidden, "this content token is for another package")
			}
			return g.boroughID, nil
		}
		s.tokens.Delete(token)
	}
	c, err := s.auth.Verify(ctx, token)
	if err != nil {
		return "", errs.E(errs.Unauthorized, "the content link is invalid or has expired; launch the module again")
	}
	if c.Type != TokenContent {
		return "", errs.E(errs.Unauthorized, "this token is not a content token")
	}
	if c.Subject != packageID {
		return "", errs.E(errs.Forbidden, "this content token is for another package")
	}
	if s.tokenN.Add(1) > 50000 {
		// Crude bound: drop the whole cache rather than track ages.
		s.tokens.Clear()
		s.tokenN.Store(0)
	}
	s.tokens.Store(token, tokenGrant{packageID: packageID, boroughID: c.Borough, expires: c.ExpiresAt.Time})
	return c.Borough, nil
}

// fileMap is a package's files, cached per package (packages are immutable).
type fileMap struct{ files map[string]FileRef }

func (s *Service) fileMap(ctx context.Context, packageID string) (*fileMap, error) {
	if v, ok := s.maps.Load(packageID); ok {
		return v.(*fileMap), nil
	}
	p := Package{ID: packageID}
	var one int
	if err := s.db.SQL.QueryRowContext(ctx, `SELECT file_count FROM content_packages WHERE id = $1`, packageID).Scan(&one); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, errs.E(errs.NotFound, "package not found")
		}
		return nil, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	p.FileCount = one
	if err := s.loadFiles(ctx, &p); err != nil {
		return nil, errs.Wrap(errs.Unavailable, err, "the database is unavailable")
	}
	fm := &fileMap{files: p.Files}
	if s.mapN.Add(1) > 512 {
		s.maps.Clear()
		s.mapN.Store(0)
	}
	s.maps.Store(packageID, fm)
	return fm, nil
}

// File is an open package file or blob, ready for http.ServeContent.
type File struct {
	io.ReadSeeker
	Ref    FileRef
	closer io.Closer
}

// Close releases the underlying blob.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// OpenPackageFile opens path inside a package. A path that is empty or
// ends in "/" opens its index.html.
func (s *Service) OpenPackageFile(ctx context.Context, packageID, path string) (*File, error) {
	fm, err := s.fileMap(ctx, packageID)
	if err != nil {
		return nil, err
	}
	if path == "" || strings.HasSuffix(path, "/") {
		path += "index.html"
	}
	ref, ok := fm.files[path]
	if !ok {
		return nil, errs.E(errs.NotFound, "%q is not in this package", path)
	}
	return s.openRef(ctx, ref)
}

// OpenBlob opens a file by its SHA-256 (lower-case hex).
func (s *Service) OpenBlob(ctx context.Context, sum string) (*File, error) {
	if !isSHA256(sum) {
		return nil, errs.E(errs.NotFound, "not a content address")
	}
	if data, ct, ok := s.files.get(sum); ok {
		return &File{ReadSeeker: bytes.NewReader(data), Ref: FileRef{SHA256: sum, Size: int64(len(data)), ContentType: ct}}, nil
	}
	obj, err := s.blobs.Open(ctx, BlobKey(sum))
	if err != nil {
		return nil, blobErr(err)
	}
	info := obj.Info()
	return &File{ReadSeeker: obj, closer: obj, Ref: FileRef{SHA256: sum, Size: info.Size, ContentType: info.ContentType}}, nil
}

func (s *Service) openRef(ctx context.Context, ref FileRef) (*File, error) {
	if data, _, ok := s.files.get(ref.SHA256); ok {
		return &File{ReadSeeker: bytes.NewReader(data), Ref: ref}, nil
	}
	obj, err := s.blobs.Open(ctx, BlobKey(ref.SHA256))
	if err != nil {
		return nil, blobErr(err)
	}
	if ref.Size <= smallFile {
		data, err := io.ReadAll(io.LimitReader(obj, smallFile+1))
		obj.Close()
		if err != nil {
			return nil, blobErr(err)
		}
		s.files.put(ref.SHA256, data, ref.ContentType)
		return &File{ReadSeeker: bytes.NewReader(data), Ref: ref}, nil
	}
	return &File{ReadSeeker: obj, closer: obj, Ref: ref}, nil
}

func blobErr(err error) error {
	switch {
	case errors.Is(err, blob.ErrNotFound):
		return errs.Wrap(errs.NotFound, err, "file not found")
	case errs.KindOf(err) == errs.Internal:
		return errs.Wrap(errs.Unavailable, err, "content storage is unavailable; try again shortly")
	}
	return err
}

func isSHA256(s string) bool {
	if len(s) != 64 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return true
}
