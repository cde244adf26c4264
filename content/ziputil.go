package content

import (
	"archive/zip"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path"
	"strings"
	"unicode/utf8"

	"github.com/reach-london/reach/internal/errs"
)

// Limits bound what an import accepts. Zero fields take the defaults.
type Limits struct {
	// MaxUpload is the largest zip accepted, in bytes (REACH_MAX_UPLOAD_BYTES).
	MaxUpload int64
	// MaxEntries is the most entries (files and folders) a zip may have.
	MaxEntries int
	// MaxFileSize is the largest single uncompressed file.
	MaxFileSize int64
	// MaxTotal is the largest total uncompressed size.
	MaxTotal int64
	// MaxRatio is the highest compression ratio allowed for an entry
	// larger than ratioFloor; ordinary content compresses by 10–20×, zip
	// bombs by thousands.
	MaxRatio int64
	// MaxExpansion is the highest ratio of the files' total uncompressed
	// size to the zip's size, once the total passes archiveRatioFloor
	// (REACH_MAX_EXPANSION_RATIO). The per-entry ratio alone lets through
	// thousands of entries just under ratioFloor: a 4.5 MB zip of 3,800
	// entries of 1 MiB each expanded to 3.8 GiB of blobs.
	MaxExpansion int64
}

// Default limits: generous for real course packages (video-heavy ones
// reach a few hundred megabytes), tight enough that a hostile zip cannot
// fill the disk or the object store.
const (
	DefaultMaxUpload   = 1 << 30
	DefaultMaxEntries  = 20000
	DefaultMaxFileSize = 2 << 30
	DefaultMaxTotal    = 4 << 30
	DefaultMaxRatio    = 200
	// DefaultMaxExpansion: a real package is mostly media that does not
	// compress, so as a whole it expands a few times at most; text-only
	// packages reach 10–20×.
	DefaultMaxExpansion = 100
	// archiveRatioFloor: below this total, a package's expansion is not
	// checked (a small text-only package may compress very well).
	archiveRatioFloor = 64 << 20
	// ratioFloor: small entries may compress very well (a long run of
	// spaces in a JSON file) without being a risk.
	ratioFloor = 1 << 20
	maxPathLen = 1000
)

func (l Limits) withDefaults() Limits {
	if l.MaxUpload <= 0 {
		l.MaxUpload = DefaultMaxUpload
	}
	if l.MaxEntries <= 0 {
		l.MaxEntries = DefaultMaxEntries
	}
	if l.MaxFileSize <= 0 {
		l.MaxFileSize = DefaultMaxFileSize
	}
	if l.MaxTotal <= 0 {
		l.MaxTotal = DefaultMaxTotal
	}
	if l.MaxRatio <= 0 {
		l.MaxRatio = DefaultMaxRatio
	}
	if l.MaxExpansion <= 0 {
		l.MaxExpansion = DefaultMaxExpansion
	}
	return l
}

// SpoolUpload copies r to a new temporary file, refusing more than limit
// bytes with errs.TooLarge, so an upload is never held in memory. The
// caller closes and removes the file.
func SpoolUpload(r io.Reader, limit int64) (*os.File, int64, error) {
	f, err := os.CreateTemp("", "reach-upload-*.zip")
	if err != nil {
		return nil, 0, errs.Wrap(errs.Internal, err, "cannot store the upload")
	}
	n, err := io.Copy(f, io.LimitReader(r, limit+1))
	if err == nil && n > limit {
		err = errs.E(errs.TooLarge, "the package is larger than the %s upload limit", humanBytes(limit))
	}
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		err = errs.E(errs.TooLarge, "the package is larger than the %s upload limit", humanBytes(limit))
	}
	if err != nil {
		f.Close()
		os.Remove(f.Name())
		if errs.KindOf(err) == errs.Internal {
			err = errs.Wrap(errs.Invalid, err, "the upload was interrupted")
		}
		return nil, 0, err
	}
	return f, n, nil
}

func humanBytes(n int64) string {
	switch {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%d GiB", n>>30)
	case n >= 1<<20:
		return fmt.Sprintf("%.0f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.0f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// zipEntry is a checked regular file of the zip.
type zipEntry struct {
	Path string
	File *zip.File
}

// openZip opens the zip at r and checks every entry against the rules
// below, returning the regular files in zip order. Every problem is an
// errs.Invalid (or errs.TooLarge) naming the entry.
func openZip(r io.ReaderAt, size int64, lim Limits) ([]zipEntry, error) {
	zr, err := zip.NewReader(r, size)
	if err != nil {
		if errors.Is(err, zip.ErrFormat) || errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, errs.E(errs.Invalid, "the upload is not a zip file (or the zip is damaged)")
		}
		if errors.Is(err, zip.ErrInsecurePath) {
			// Only with GODEBUG=zipinsecurepath=0; the checks below say which entry.
		} else {
			return nil, errs.Wrap(errs.Invalid, err, "the upload is not a readable zip file")
		}
	}
	if len(zr.File) > lim.MaxEntries {
		return nil, errs.E(errs.TooLarge, "the zip has %d entries; at most %d are allowed", len(zr.File), lim.MaxEntries)
	}
	seen := make(map[string]string, len(zr.File))
	var out []zipEntry
	var total uint64
	for _, f := range zr.File {
		name := f.Name
		if err := checkEntryName(name); err != nil {
			return nil, err
		}
		mode := f.Mode()
		if mode&fs.ModeSymlink != 0 {
			return nil, errs.E(errs.Invalid, "zip entry %q is a symbolic link; packages may hold only files and folders", name)
		}
		isDir := mode.IsDir() || strings.HasSuffix(name, "/")
		if !isDir && !mode.IsRegular() {
			return nil, errs.E(errs.Invalid, "zip entry %q is not a regular file (mode %s)", name, mode.Type())
		}
		if f.Flags&0x1 != 0 {
			return nil, errs.E(errs.Invalid, "zip entry %q is encrypted; upload an unencrypted zip", name)
		}
		clean := strings.TrimSuffix(name, "/")
		fold := strings.ToLower(clean)
		if prev, dup := seen[fold]; dup {
			if prev == clean {
				return nil, errs.E(errs.Invalid, "zip entry %q appears more than once", name)
			}
			return nil, errs.E(errs.Invalid, "zip entries %q and %q differ only in letter case, which breaks on case-insensitive systems", prev, clean)
		}
		seen[fold] = clean
		if isDir {
			continue
		}
		if f.UncompressedSize64 > uint64(lim.MaxFileSize) {
			return nil, errs.E(errs.TooLarge, "zip entry %q is %s uncompressed; the limit per file is %s", name, humanBytes(int64(f.UncompressedSize64)), humanBytes(lim.MaxFileSize))
		}
		if f.UncompressedSize64 > ratioFloor {
			if f.CompressedSize64 == 0 || f.UncompressedSize64/f.CompressedSize64 > uint64(lim.MaxRatio) {
				return nil, errs.E(errs.Invalid, "zip entry %q expands more than %d times (a zip bomb?); it was refused", name, lim.MaxRatio)
			}
		}
		total += f.UncompressedSize64
		if total > uint64(lim.MaxTotal) {
			return nil, errs.E(errs.TooLarge, "the zip's files total more than %s uncompressed (a zip bomb?); it was refused", humanBytes(lim.MaxTotal))
		}
		out = append(out, zipEntry{Path: clean, File: f})
	}
	// The whole archive's expansion, from the headers: nothing has been
	// decompressed or stored yet. (hashEntries also refuses entries whose
	// bytes exceed their header.)
	if total > archiveRatioFloor && size > 0 && total/uint64(size) > uint64(lim.MaxExpansion) {
		return nil, errs.E(errs.TooLarge, "the zip's files expand to %s from a %s zip, more than %d times (a zip bomb?); it was refused (REACH_MAX_EXPANSION_RATIO)",
			humanBytes(int64(total)), humanBytes(size), lim.MaxExpansion)
	}
	return out, nil
}

// checkEntryName refuses names that could escape the package or mean
// different files on different systems.
func checkEntryName(name string) error {
	bad := func(why string) error { return errs.E(errs.Invalid, "zip entry %q %s", name, why) }
	switch {
	case name == "" || name == "/":
		return errs.E(errs.Invalid, "the zip has an entry with an empty name")
	case len(name) > maxPathLen:
		return bad(fmt.Sprintf("has a name longer than %d bytes", maxPathLen))
	case !utf8.ValidString(name):
		return bad("has a name that is not valid UTF-8")
	case strings.Contains(name, `\`):
		return bad("contains a backslash; zip paths use /")
	case strings.HasPrefix(name, "/"):
		return bad("is an absolute path")
	case len(name) >= 2 && name[1] == ':' && (name[0]|0x20 >= 'a' && name[0]|0x20 <= 'z'):
		return bad("starts with a drive letter (an absolute path)")
	}
	for _, r := range name {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	trimmed := strings.TrimSuffix(name, "/")
	for _, seg := range strings.Split(trimmed, "/") {
		switch seg {
		case "..":
			return bad("contains \"..\" (path traversal)")
		case ".", "":
			return bad("has an empty or \".\" path segment")
		}
	}
	if path.Clean(trimmed) != trimmed {
		return bad("is not a clean path")
	}
	return nil
}
