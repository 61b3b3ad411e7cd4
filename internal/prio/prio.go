// Package prio lowers the collector's CPU and I/O priority, so a collection
// on a live shop does not take it down.
package prio

// Lower sets a lower CPU priority (nice 10 on Linux, below-normal class on
// Windows) and best-effort lowest I/O priority on Linux, for every thread
// of the process. It returns what it did, for the record.
func Lower() (string, error) { return lower() }
