//go:build !windows

package windows

// LogMethods is the platform's list, best first. Outside Windows there is
// no EventLog service holding the files, so a plain read does.
func LogMethods() []CopyMethod {
	return []CopyMethod{sharedReadMethod}
}

// LockedMethods is the list for other files Windows holds open: here a
// plain read.
func LockedMethods() []CopyMethod { return []CopyMethod{sharedReadMethod} }

// MetadataMethods is the list for NTFS metadata files: none here (a
// profile run on an image gives NTFSMethod its own volume).
func MetadataMethods() []CopyMethod { return nil }
