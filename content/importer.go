package content

import (
	"archive/zip"
	"bytes"
	"context"
	"crypto/sha256"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/google/uuid"

	"github.com/reach-london/reach/content/manifest"
	"github.com/reach-london/reach/internal/blob"
	"github.com/reach-london/reach/internal/errs"
)

// ImportReader imports a package from r (an upload), spooling it to a
// temporary file first so memory does not grow with the package.
func (s *Service) ImportReader(ctx context.Context, boroughID, actor string, r io.Reader) (Package, error) {
	f, size, err := SpoolUpload(r, s.opts.Limits.MaxUpload)
	if err != nil {
		return Package{}, err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	return s.audited(s.importZip(ctx, boroughID, actor, f, size, nil))
}

// audited records a successful import in the audit log.
func (s *Service) audited(p Package, err error) (Package, error) {
	if err == nil {
		s.log.Info("package imported", "package_id", p.ID, "borough_id", p.BoroughID, "type", string(p.Type),
			"files", p.FileCount, "bytes", p.Size)
		s.auth.Audit(context.Background(), p.BoroughID, p.CreatedBy, AuditPackageImport, p.Title,
			map[string]any{"packageId": p.ID, "type": string(p.Type), "files": p.FileCount, "bytes": p.Size})
	}
	return p, err
}

// ImportFile imports the package zip at path.
func (s *Service) ImportFile(ctx context.Context, boroughID, actor, path string) (Package, error) {
	f, err := os.Open(path)
	if err != nil {
		return Package{}, errs.Wrap(errs.Invalid, err, "cannot open %s", path)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return Package{}, errs.Wrap(errs.Invalid, err, "cannot read %s", path)
	}
	if st.Size() > s.opts.Limits.MaxUpload {
		return Package{}, errs.E(errs.TooLarge, "the package is larger than the %s upload limit", humanBytes(s.opts.Limits.MaxUpload))
	}
	return s.audited(s.importZip(ctx, boroughID, actor, f, st.Size(), nil))
}

// hashedEntry is a zip entry with its content address.
type hashedEntry struct {
	zipEntry
	ref FileRef
}

// importZip is the import pipeline: check every entry, parse the manifest,
// check the launch files, hash each file, store the blobs that are new,
// then record the package and its file map in one transaction. On any
// failure the blobs this import created are deleted unless another
// package references them.
//
// check, if not nil, runs on the parsed manifest before anything is
// stored; its error refuses the import.
func (s *Service) importZip(ctx context.Context, boroughID, actor string, r io.ReaderAt, size int64, check func(*manifest.Manifest) error) (Package, error) {
	r, size, err := s.standaloneXML(r, size)
	if err != nil {
		return Package{}, err
	}
	entries, err := openZip(r, size, s.opts.Limits)
	if err != nil {
		return Package{}, err
	}
	byPath := make(map[string]*zipEntry, len(entries))
	folded := make(map[string]string, len(entries))
	for i := range entries {
		byPath[entries[i].Path] = &entries[i]
		folded[strings.ToLower(entries[i].Path)] = entries[i].Path
	}
	name := manifest.Detect(func(n string) bool { _, ok := byPath[n]; return ok })
	if name == "" {
		hint := ""
		for _, e := range entries {
			if i := strings.LastIndex(e.Path, "/"); i > 0 && manifest.Detect(func(n string) bool { return e.Path[i+1:] == n }) != "" {
				hint = fmt.Sprintf(" (found %s: zip the folder's contents, not the folder)", e.Path)
				break
			}
		}
		return Package{}, errs.E(errs.Invalid, "no manifest: the zip has no cmi5.xml, imsmanifest.xml or tincan.xml at its root%s (cmi5 14.1.0.0-2)", hint)
	}
	raw, err := readEntry(byPath[name], manifest.MaxManifestBytes)
	if err != nil {
		return Package{}, err
	}
	man, err := manifest.Parse(name, raw)
	if err != nil {
		return Package{}, errs.Wrap(errs.Invalid, err, "invalid manifest: %s", err.Error())
	}
	// cmi5 14.1.0.0-4: an AU whose file is not in the zip needs a fully
	// qualified URL.
	missingRule := ""
	if man.Type == manifest.TypeCMI5 {
		missingRule = " (cmi5 14.1.0.0-4: an AU not in the zip needs a fully qualified URL)"
	}
	var warnings []string
	for _, au := range man.Course.AllAUs() {
		lp, err := manifest.LaunchPath(au)
		if err != nil {
			return Package{}, errs.E(errs.Invalid, "invalid manifest: AU %q launch URL %q: %v", au.ID, au.LaunchURL, err)
		}
		if au.External {
			continue
		}
		if _, ok := byPath[lp]; !ok {
			if other, ok := folded[strings.ToLower(lp)]; ok {
				return Package{}, errs.E(errs.Invalid, "launch file %q of %q is not in the zip; %q differs only in letter case%s", lp, au.Title, other, missingRule)
			}
			return Package{}, errs.E(errs.Invalid, "launch file %q of %q is not in the zip%s", lp, au.Title, missingRule)
		}
	}
	if check != nil {
		if err := check(man); err != nil {
			return Package{}, err
		}
	}
	for _, f := range man.Files {
		if _, ok := byPath[f]; !ok && len(warnings) < 20 {
			warnings = append(warnings, fmt.Sprintf("%s lists %q, which is not in the zip", name, f))
		}
	}

	hashed, err := s.hashEntries(ctx, entries)
	if err != nil {
		return Package{}, err
	}
	pkg := Package{ID: uuid.NewString(), BoroughID: boroughID, Type: man.Type, Title: man.Course.Title,
		Course: man.Course, Files: make(map[string]FileRef, len(hashed)), CreatedBy: actor,
		CreatedAt: s.now().UTC().Truncate(1e6), Warnings: warnings}
	for _, h := range hashed {
		pkg.Files[h.Path] = h.ref
		pkg.Size += h.ref.Size
	}
	pkg.FileCount = len(pkg.Files)
	pkg.ContentHash = contentHash(pkg.Files)
	if existing, err := s.packageByHash(ctx, boroughID, pkg.ContentHash); err == nil {
		existing.Warnings = warnings
		return existing, nil
	} else if !errs.Is(err, errs.NotFound) {
		return Package{}, err
	}

	// The lease keeps a concurrent sweep off these blobs until the
	// package row naming them is committed (see gc.go).
	sums := make([]string, 0, len(hashed))
	seen := make(map[string]bool, len(hashed))
	for _, h := range hashed {
		if !seen[h.ref.SHA256] {
			seen[h.ref.SHA256] = true
			sums = append(sums, h.ref.SHA256)
		}
	}
	lease, err := s.takeLease(ctx, sums)
	if err != nil {
		return Package{}, err
	}
	defer s.releaseLease(lease)

	created, reused, err := s.storeBlobs(ctx, hashed)
	if err == nil {
		err = s.insertPackage(ctx, pkg)
		if db := (uniqueErr{}); errors.As(err, &db) {
			// A concurrent import of the same zip won the race; its package
			// references the same blobs, so nothing is cleaned up.
			if existing, e2 := s.packageByHash(ctx, boroughID, pkg.ContentHash); e2 == nil {
				return existing, s.ensureReused(ctx, append(created, reused...))
			}
		}
	}
	if err != nil {
		s.cleanupBlobs(created, lease)
		return Package{}, err
	}
	if err := s.ensureReused(ctx, reused); err != nil {
		return Package{}, errs.Wrap(errs.Unavailable, err, "the package was recorded but a shared file could not be checked; import it again")
	}
	return pkg, nil
}

// standaloneXML lets a cmi5 course structure be imported without a zip
// (cmi5 14.0.0.0-1: standalone XML, Zip32 and Zip64 are all course
// packages). The document is checked as cmi5.xml, every AU URL must be
// fully qualified (14.2.0.0-1), and it is imported as a zip holding only
// cmi5.xml, so the package keeps its course structure like any other.
// Anything else that is not a zip is refused naming the formats.
func (s *Service) standaloneXML(r io.ReaderAt, size int64) (io.ReaderAt, int64, error) {
	head := make([]byte, 512)
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	if bytes.HasPrefix(head, []byte("PK")) {
		return r, size, nil
	}
	trimmed := bytes.TrimLeft(bytes.TrimPrefix(head, []byte("\xef\xbb\xbf")), " \t\r\n")
	if !bytes.HasPrefix(trimmed, []byte("<")) {
		return nil, 0, errs.E(errs.Invalid, "the upload is not a zip file or a cmi5.xml course structure (cmi5 14.0.0.0-1: Zip32, Zip64 or XML)")
	}
	if size > manifest.MaxManifestBytes {
		return nil, 0, errs.E(errs.TooLarge, "the course structure is larger than %s", humanBytes(manifest.MaxManifestBytes))
	}
	data := make([]byte, size)
	if _, err := r.ReadAt(data, 0); err != nil && !errors.Is(err, io.EOF) {
		return nil, 0, errs.Wrap(errs.Invalid, err, "the upload cannot be read")
	}
	man, err := manifest.ParseCMI5(data)
	if err == nil {
		err = manifest.CheckStandalone(man)
	}
	if err != nil {
		return nil, 0, errs.Wrap(errs.Invalid, err, "invalid manifest: %s", err.Error())
	}
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	w, err := zw.CreateHeader(&zip.FileHeader{Name: manifest.CMI5File, Method: zip.Deflate})
	if err == nil {
		_, err = w.Write(data)
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, 0, errs.Wrap(errs.Internal, err, "packing the course structure")
	}
	return bytes.NewReader(buf.Bytes()), int64(buf.Len()), nil
}

// readEntry reads a small entry whole, refusing more than limit bytes.
func readEntry(e *zipEntry, limit int64) ([]byte, error) {
	rc, err := e.File.Open()
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "zip entry %q cannot be read", e.Path)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit+1))
	if err != nil {
		return nil, errs.Wrap(errs.Invalid, err, "zip entry %q is damaged", e.Path)
	}
	if int64(len(b)) > limit {
		return nil, errs.E(errs.TooLarge, "%s is larger than %s", e.Path, humanBytes(limit))
	}
	return b, nil
}

// hashEntries computes each file's SHA-256 by streaming it out of the zip,
// a few at a time. A file whose bytes disagree with the zip's size or
// CRC fails here, before anything is stored.
func (s *Service) hashEntries(ctx context.Context, entries []zipEntry) ([]hashedEntry, error) {
	out := make([]hashedEntry, len(entries))
	err := parallel(ctx, len(entries), s.opts.ImportWorkers, func(i int) error {
		e := entries[i]
		rc, err := e.File.Open()
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "zip entry %q cannot be read", e.Path)
		}
		defer rc.Close()
		h := sha256.New()
		// The limit guards against a zip whose header understates the
		// size; archive/zip also checks the size and CRC at EOF.
		n, err := io.Copy(h, io.LimitReader(rc, int64(e.File.UncompressedSize64)+1))
		if err != nil {
			return errs.Wrap(errs.Invalid, err, "zip entry %q is damaged", e.Path)
		}
		if uint64(n) != e.File.UncompressedSize64 {
			return errs.E(errs.Invalid, "zip entry %q is larger than its header says (a zip bomb?)", e.Path)
		}
		out[i] = hashedEntry{zipEntry: e, ref: FileRef{SHA256: hex.EncodeToString(h.Sum(nil)), Size: n, ContentType: ContentTypeOf(e.Path)}}
		return nil
	})
	return out, err
}

// storeBlobs puts every file whose blob is not stored yet, returning the
// keys it created (for cleanup on failure). Identical files within the
// package are put once.
func (s *Service) storeBlobs(ctx context.Context, hashed []hashedEntry) (created, reused []*hashedEntry, err error) {
	unique := map[string]*hashedEntry{}
	var order []string
	for i := range hashed {
		if _, ok := unique[hashed[i].ref.SHA256]; !ok {
			unique[hashed[i].ref.SHA256] = &hashed[i]
			order = append(order, hashed[i].ref.SHA256)
		}
	}
	var mu sync.Mutex
	err = parallel(ctx, len(order), s.opts.ImportWorkers, func(i int) error {
		h := unique[order[i]]
		if _, err := s.blobs.Stat(ctx, BlobKey(h.ref.SHA256)); err == nil {
			mu.Lock()
			reused = append(reused, h)
			mu.Unlock()
			return nil
		} else if !errors.Is(err, blob.ErrNotFound) {
			return err
		}
		err := s.putEntry(ctx, h)
		if err == nil || errs.KindOf(err) == errs.Internal {
			mu.Lock()
			created = append(created, h)
			mu.Unlock()
		}
		return err
	})
	return created, reused, err
}

// putEntry stores one zip entry under its content address, checking the
// bytes still hash to it.
func (s *Service) putEntry(ctx context.Context, h *hashedEntry) error {
	rc, err := h.File.Open()
	if err != nil {
		return errs.Wrap(errs.Invalid, err, "zip entry %q cannot be read", h.Path)
	}
	defer rc.Close()
	hr := &hashingReader{r: rc, h: sha256.New()}
	if err := s.blobs.Put(ctx, BlobKey(h.ref.SHA256), hr, h.ref.Size, h.ref.ContentType); err != nil {
		return err
	}
	if got := hex.EncodeToString(hr.h.Sum(nil)); got != h.ref.SHA256 {
		// The zip changed under us between the passes; never keep a blob
		// under a key that is not its hash (the caller deletes it).
		return errs.E(errs.Internal, "zip entry %q changed while importing", h.Path)
	}
	return nil
}

// ensureReused runs after the package is recorded: a blob this import
// found already stored may have been deleted since by a failed import
// that had just created it (see cleanupBlobs); put it back from the zip.
func (s *Service) ensureReused(ctx context.Context, reused []*hashedEntry) error {
	return parallel(ctx, len(reused), s.opts.ImportWorkers, func(i int) error {
		h := reused[i]
		if _, err := s.blobs.Stat(ctx, BlobKey(h.ref.SHA256)); !errors.Is(err, blob.ErrNotFound) {
			return err
		}
		s.log.Warn("import: a shared blob vanished during import; storing it again", "sha256", h.ref.SHA256)
		return s.putEntry(ctx, h)
	})
}

type hashingReader struct {
	r io.Reader
	h interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (h *hashingReader) Read(p []byte) (int, error) {
	n, err := h.r.Read(p)
	h.h.Write(p[:n])
	return n, err
}

// cleanupBlobs deletes blobs a failed import created, unless a package
// references them. Another import may have found such a blob already
// stored and be about to commit a package naming it, so after deleting,
// the references are checked again and the blob put back if one appeared;
// the other import also re-checks its reused blobs after committing
// (ensureReused), so whichever order the two run in, no package is left
// naming a missing blob.
//
// A blob another import holds a lease on counts as referenced too.
func (s *Service) cleanupBlobs(created []*hashedEntry, lease string) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	referenced := func(sum string) (bool, error) {
		var one int
		err := s.db.SQL.QueryRowContext(ctx, `SELECT 1 FROM content_files WHERE sha256 = $1
UNION ALL SELECT 1 FROM content_blob_leases WHERE sha256 = $1 AND lease_id <> $2 AND expires_at >= $3 LIMIT 1`, sum, lease, s.now().UnixMilli()).Scan(&one)
		if errors.Is(err, sql.ErrNoRows) {
			return false, nil
		}
		return err == nil, err
	}
	for _, h := range created {
		sum := h.ref.SHA256
		if ref, err := referenced(sum); err != nil || ref {
			if err != nil {
				s.log.Warn("import cleanup: cannot check blob references; keeping blob", "sha256", sum, "err", err)
			}
			continue
		}
		if err := s.blobs.Delete(ctx, BlobKey(sum)); err != nil {
			s.log.Warn("import cleanup: blob not deleted", "sha256", sum, "err", err)
			continue
		}
		if ref, err := referenced(sum); err == nil && ref {
			if err := s.putEntry(ctx, h); err != nil {
				s.log.Error("import cleanup: a blob another package needs could not be restored", "sha256", sum, "err", err)
			}
		}
	}
}

// contentHash identifies a package's content by its sorted file map.
func contentHash(files map[string]FileRef) string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		fmt.Fprintf(h, "%s\x00%s\n", p, files[p].SHA256)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// parallel runs fn(0..n-1) on up to workers goroutines, stopping at the
// first error.
func parallel(ctx context.Context, n, workers int, fn func(int) error) error {
	if n == 0 {
		return nil
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	next := make(chan int)
	var once sync.Once
	var first error
	var wg sync.WaitGroup
	for w := 0; w < workers && w < n; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if err := fn(i); err != nil {
					once.Do(func() { first = err; cancel() })
				}
			}
		}()
	}
feed:
	for i := 0; i < n; i++ {
		select {
		case next <- i:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	if first == nil && ctx.Err() != nil {
		return errs.Wrap(errs.Unavailable, ctx.Err(), "the import was cancelled")
	}
	return first
}

// courseJSON encodes the course tree for the packages table.
func courseJSON(c Course) (string, error) {
	b, err := json.Marshal(c)
	return string(b), err
}
