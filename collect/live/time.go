package live

import "time"

//lint:ignore U1000 used where gopsutil gives process times (state_other.go)
func timeMillis(ms int64) time.Time { return time.UnixMilli(ms) }
