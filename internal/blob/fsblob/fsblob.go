// Package fsblob is the local-directory blob.Store, Reach's embedded
// default.
//
// Layout under the root directory:
//
//	objects/  one file per object; key "a/b/c" is objects/a.d/b.d/c.obj
//	tmp/      Puts in progress, renamed into objects/ when complete
//
// Directory segments end in ".d" and object files in ".obj" so that the keys
// "a/b" and "a/b/c" can both exist, as they can on S3, without a file and a
// directory wanting the same name.
//
// Each object file starts with a fixed-size header holding the content type
// and the SHA-256 of the bytes (the ETag), followed by the bytes. Keeping the
// metadata inside the object file, rather than in a sidecar, makes a Put one
// atomic rename: there is no moment at which new bytes sit beside old
// metadata, and nothing to reconcile after a crash.
package fsblob

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/errs"
)

const (
	objectsDir = "objects"
	tmpDir     = "tmp"
	dirSuffix  = ".d"
	objSuffix  = ".obj"

	// headerSize is the fixed space at the start of each object file. The
	// header is written last, once the hash is known, into space reserved
	// before the bytes.
	headerSize = 1024
	magic      = "REACHBLOB1\n"

	// staleTmpAge is how old a leftover temp file must be before New removes
	// it: old enough that no Put of another process on the same directory
	// can still be writing it.
	staleTmpAge = 24 * time.Hour
)

// header is the JSON stored at the start of each object file.
type header struct {
	ContentType string `json:"contentType"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
}

// Store keeps objects in a local directory. It is safe for concurrent use,
// including by several processes sharing the directory.
type Store struct {
	root    string
	objects string
	tmp     string
}

var _ blob.Store = (*Store)(nil)

// New opens (creating if needed) a store rooted at dir and checks that it is
// writable. Temp files left by Puts interrupted by a crash are removed.
func New(dir string) (*Store, error) {
	if dir == "" {
		return nil, errs.E(errs.Invalid, "blob directory is empty")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return nil, fmt.Errorf("blob directory %q: %w", dir, err)
	}
	s := &Store{root: abs, objects: filepath.Join(abs, objectsDir), tmp: filepath.Join(abs, tmpDir)}
	for _, d := range []string{s.objects, s.tmp} {
		if err := os.MkdirAll(d, 0o750); err != nil {
			return nil, fmt.Errorf("blob directory %q: %w", dir, err)
		}
	}
	if err := s.Ping(context.Background()); err != nil {
		return nil, fmt.Errorf("blob directory %q: %w", dir, err)
	}
	s.removeStaleTemps(time.Now().Add(-staleTmpAge))
	return s, nil
}

// Dir returns the store's root directory.
func (s *Store) Dir() string { return s.root }

func (s *Store) removeStaleTemps(before time.Time) {
	entries, err := os.ReadDir(s.tmp)
	if err != nil {
		return
	}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.ModTime().Before(before) {
			_ = os.Remove(filepath.Join(s.tmp, e.Name()))
		}
	}
}

// path returns the object file for a valid key.
func (s *Store) path(key string) string {
	segs := strings.Split(key, "/")
	parts := make([]string, 0, len(segs)+1)
	parts = append(parts, s.objects)
	for _, seg := range segs[:len(segs)-1] {
		parts = append(parts, seg+dirSuffix)
	}
	parts = append(parts, segs[len(segs)-1]+objSuffix)
	return filepath.Join(parts...)
}

// unavailable classifies a file-system failure that is not about the key.
func unavailable(op string, err error) error {
	return &errs.Error{Kind: errs.Unavailable, Message: "file store unavailable",
		Err: fmt.Errorf("%w: %s: %w", blob.ErrUnavailable, op, err)}
}

// Put implements blob.Store. The bytes go to a temp file in the same file
// system, are fsynced, and the file is renamed over the key, so a Put either
// happens whole or not at all, and survives a crash once it has returned.
func (s *Store) Put(ctx context.Context, key string, r io.Reader, size int64, contentType string) (err error) {
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
	f, err := os.CreateTemp(s.tmp, "put-*")
	if err != nil {
		return unavailable("create temp file", err)
	}
	tmpName := f.Name()
	defer func() {
		if err != nil {
			_ = f.Close()
			_ = os.Remove(tmpName)
		}
	}()
	if _, err := f.Write(make([]byte, headerSize)); err != nil {
		return unavailable("write", err)
	}
	h := sha256.New()
	n, err := copyCtx(ctx, io.MultiWriter(f, h), r)
	if err != nil {
		return err
	}
	if size >= 0 && n != size {
		return errs.E(errs.Invalid, "blob %q: got %d bytes, want %d", key, n, size)
	}
	hdr, err := encodeHeader(header{ContentType: ct, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	if err != nil {
		return err
	}
	if _, err := f.WriteAt(hdr, 0); err != nil {
		return unavailable("write header", err)
	}
	if err := f.Sync(); err != nil {
		return unavailable("sync", err)
	}
	if err := f.Close(); err != nil {
		return unavailable("close", err)
	}
	return s.commit(tmpName, s.path(key))
}

// commit renames the finished temp file to dst and makes the rename durable.
func (s *Store) commit(tmpName, dst string) error {
	// A concurrent Delete may remove a parent directory that has just become
	// empty between MkdirAll and Rename; trying again recreates it.
	var err error
	for range 5 {
		if err = os.MkdirAll(filepath.Dir(dst), 0o750); err != nil {
			continue
		}
		if err = os.Rename(tmpName, dst); err == nil {
			break
		}
		if !errors.Is(err, fs.ErrNotExist) {
			break
		}
	}
	if err != nil {
		_ = os.Remove(tmpName)
		return unavailable("rename", err)
	}
	// The rename, and any directories just created, are only durable once
	// the directories holding them are synced.
	for d := filepath.Dir(dst); ; d = filepath.Dir(d) {
		if err := syncDir(d); err != nil {
			return unavailable("sync directory", err)
		}
		if d == s.objects || len(d) <= len(s.objects) {
			break
		}
	}
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	return d.Sync()
}

// copyCtx copies like io.Copy but stops when ctx ends, so a cancelled
// upload does not run to the end of a slow reader.
func copyCtx(ctx context.Context, dst io.Writer, src io.Reader) (int64, error) {
	buf := make([]byte, 256<<10)
	var n int64
	for {
		if err := ctx.Err(); err != nil {
			return n, err
		}
		nr, rerr := src.Read(buf)
		if nr > 0 {
			nw, werr := dst.Write(buf[:nr])
			n += int64(nw)
			if werr != nil {
				return n, unavailable("write", werr)
			}
		}
		if rerr == io.EOF {
			return n, nil
		}
		if rerr != nil {
			return n, fmt.Errorf("read blob source: %w", rerr)
		}
	}
}

func encodeHeader(h header) ([]byte, error) {
	js, err := json.Marshal(h)
	if err != nil {
		return nil, err
	}
	if len(magic)+2+len(js) > headerSize {
		// Unreachable with validated content types; guards the format.
		return nil, errs.E(errs.Invalid, "blob metadata too large")
	}
	buf := make([]byte, headerSize)
	copy(buf, magic)
	binary.BigEndian.PutUint16(buf[len(magic):], uint16(len(js)))
	copy(buf[len(magic)+2:], js)
	return buf, nil
}

func decodeHeader(buf []byte) (header, error) {
	var h header
	if len(buf) < headerSize || !bytes.HasPrefix(buf, []byte(magic)) {
		return h, errors.New("not a blob file")
	}
	n := int(binary.BigEndian.Uint16(buf[len(magic):]))
	if len(magic)+2+n > headerSize {
		return h, errors.New("corrupt blob header")
	}
	if err := json.Unmarshal(buf[len(magic)+2:len(magic)+2+n], &h); err != nil {
		return h, fmt.Errorf("corrupt blob header: %w", err)
	}
	return h, nil
}

// openFile opens the object file for key and reads its header.
func (s *Store) openFile(key string) (*os.File, blob.Info, error) {
	if err := blob.ValidateKey(key); err != nil {
		return nil, blob.Info{}, err
	}
	f, err := os.Open(s.path(key))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, blob.Info{}, blob.ErrNotFound
		}
		return nil, blob.Info{}, unavailable("open", err)
	}
	info, err := readInfo(f, key)
	if err != nil {
		f.Close()
		return nil, blob.Info{}, err
	}
	return f, info, nil
}

func readInfo(f *os.File, key string) (blob.Info, error) {
	st, err := f.Stat()
	if err != nil {
		return blob.Info{}, unavailable("stat", err)
	}
	buf := make([]byte, headerSize)
	if _, err := f.ReadAt(buf, 0); err != nil {
		return blob.Info{}, fmt.Errorf("blob %q: read header: %w", key, err)
	}
	h, err := decodeHeader(buf)
	if err != nil {
		return blob.Info{}, fmt.Errorf("blob %q: %w", key, err)
	}
	if st.Size()-headerSize != h.Size {
		return blob.Info{}, fmt.Errorf("blob %q: file holds %d bytes, header says %d", key, st.Size()-headerSize, h.Size)
	}
	return blob.Info{Key: key, Size: h.Size, ContentType: h.ContentType, ModTime: st.ModTime(), ETag: h.SHA256}, nil
}

// object is an open object file: reads and seeks address the bytes after
// the header.
type object struct {
	*io.SectionReader
	f    *os.File
	info blob.Info
}

func (o *object) Info() blob.Info { return o.info }
func (o *object) Close() error    { return o.f.Close() }

// Open implements blob.Store.
func (s *Store) Open(ctx context.Context, key string) (blob.Object, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	f, info, err := s.openFile(key)
	if err != nil {
		return nil, err
	}
	return &object{SectionReader: io.NewSectionReader(f, headerSize, info.Size), f: f, info: info}, nil
}

// Stat implements blob.Store.
func (s *Store) Stat(ctx context.Context, key string) (blob.Info, error) {
	if err := ctx.Err(); err != nil {
		return blob.Info{}, err
	}
	f, info, err := s.openFile(key)
	if err != nil {
		return blob.Info{}, err
	}
	f.Close()
	return info, nil
}

// Delete implements blob.Store. Directories left empty are removed so that
// deleted prefixes do not accumulate.
func (s *Store) Delete(ctx context.Context, key string) error {
	if err := blob.ValidateKey(key); err != nil {
		return err
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	p := s.path(key)
	if err := os.Remove(p); err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return unavailable("remove", err)
	}
	// os.Remove fails on a non-empty directory, which is the stop signal;
	// a concurrent Put that loses its directory recreates it (see commit).
	for d := filepath.Dir(p); d != s.objects && len(d) > len(s.objects); d = filepath.Dir(d) {
		if os.Remove(d) != nil {
			break
		}
	}
	return nil
}

// List implements blob.Store. It walks only the directories that can hold
// keys with the prefix, visiting entries in key order.
func (s *Store) List(ctx context.Context, prefix string, fn func(blob.Info) error) error {
	if strings.Contains(prefix, `\`) || strings.HasPrefix(prefix, "/") {
		return errs.E(errs.Invalid, "invalid blob prefix %q", prefix)
	}
	// Start in the deepest directory that every matching key lies under.
	dir, keyDir := s.objects, ""
	if i := strings.LastIndex(prefix, "/"); i >= 0 {
		for _, seg := range strings.Split(prefix[:i], "/") {
			if seg == "" || seg == "." || seg == ".." {
				return nil // no valid key has such a prefix
			}
			dir = filepath.Join(dir, seg+dirSuffix)
		}
		keyDir = prefix[:i+1]
	}
	return s.walk(ctx, dir, keyDir, prefix, fn)
}

// walk lists dir, whose keys start with keyDir, calling fn for objects
// whose keys start with prefix.
func (s *Store) walk(ctx context.Context, dir, keyDir, prefix string, fn func(blob.Info) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return unavailable("read directory", err)
	}
	type child struct {
		sortKey string // the key, or the key prefix with "/" for a directory
		name    string
		isDir   bool
	}
	children := make([]child, 0, len(entries))
	for _, e := range entries {
		name := e.Name()
		switch {
		case e.IsDir() && strings.HasSuffix(name, dirSuffix):
			children = append(children, child{keyDir + strings.TrimSuffix(name, dirSuffix) + "/", name, true})
		case !e.IsDir() && strings.HasSuffix(name, objSuffix):
			children = append(children, child{keyDir + strings.TrimSuffix(name, objSuffix), name, false})
		}
	}
	// Every key under a directory starts with its sortKey, so sorting
	// files by key and directories by key prefix yields key order overall.
	slices.SortFunc(children, func(a, b child) int { return strings.Compare(a.sortKey, b.sortKey) })
	for _, c := range children {
		if c.isDir {
			if !strings.HasPrefix(c.sortKey, prefix) && !strings.HasPrefix(prefix, c.sortKey) {
				continue
			}
			if err := s.walk(ctx, filepath.Join(dir, c.name), c.sortKey, prefix, fn); err != nil {
				return err
			}
			continue
		}
		if !strings.HasPrefix(c.sortKey, prefix) {
			continue
		}
		f, err := os.Open(filepath.Join(dir, c.name))
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue // deleted while listing
			}
			return unavailable("open", err)
		}
		info, err := readInfo(f, c.sortKey)
		f.Close()
		if err != nil {
			return err
		}
		if err := fn(info); err != nil {
			return err
		}
	}
	return nil
}

// Ping implements blob.Store: it writes and removes a file, because a
// directory that can be read but not written cannot take uploads.
func (s *Store) Ping(ctx context.Context) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	f, err := os.CreateTemp(s.tmp, "ping-*")
	if err != nil {
		return unavailable("ping", err)
	}
	name := f.Name()
	_, werr := f.Write([]byte("ok"))
	cerr := f.Close()
	rerr := os.Remove(name)
	if err := errors.Join(werr, cerr, rerr); err != nil {
		return unavailable("ping", err)
	}
	return nil
}
