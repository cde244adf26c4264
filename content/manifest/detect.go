package manifest

import "strings"

// Detect returns the manifest file a package with these root-level file
// names is described by, in order of preference: cmi5.xml, then
// imsmanifest.xml, then tincan.xml. A zip made by zipping a folder (so
// every file sits under one top directory) is not detected; authoring
// tools put the manifest at the root, as the standards require.
func Detect(has func(name string) bool) string {
	for _, f := range []string{CMI5File, SCORMFile, TinCanFile} {
		if has(f) {
			return f
		}
	}
	return ""
}

// Parse parses the manifest file name (as Detect returned) from data.
func Parse(name string, data []byte) (*Manifest, error) {
	switch strings.ToLower(name) {
	case CMI5File:
		return ParseCMI5(data)
	case SCORMFile:
		return ParseSCORM(data)
	case TinCanFile:
		return ParseTinCan(data)
	}
	return nil, &Error{File: name, Msg: "is not a manifest Reach knows (cmi5.xml, imsmanifest.xml, tincan.xml)"}
}

// LaunchPath is the package path of an AU's launch URL (query and fragment
// removed, escapes decoded), which must exist in the package. It is empty
// for external AUs.
func LaunchPath(au AU) (string, error) {
	if au.External {
		return "", nil
	}
	p, _, err := CleanPath(au.LaunchURL)
	return p, err
}
