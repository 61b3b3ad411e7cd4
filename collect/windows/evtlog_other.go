//go:build !windows

package windows

// LogMethods is the platform's list, best first. Outside Windows there is
// no EventLog service holding the files, so a plain read does.
func LogMethods() []LogMethod {
	return []LogMethod{sharedReadMethod}
}
