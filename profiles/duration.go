package profiles

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Duration is a span in a profile: 30d, 12h, 90m.
type Duration time.Duration

// UnmarshalYAML reads a Duration; days are 24 hours.
func (d *Duration) UnmarshalYAML(unmarshal func(any) error) error {
	var s string
	if err := unmarshal(&s); err != nil {
		return err
	}
	if n, ok := strings.CutSuffix(s, "d"); ok {
		if v, err := strconv.Atoi(n); err == nil && v >= 0 {
			*d = Duration(time.Duration(v) * 24 * time.Hour)
			return nil
		}
	}
	v, err := time.ParseDuration(s)
	if err != nil || v < 0 {
		return fmt.Errorf("duration %q: want a span like 30d, 12h or 90m", s)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes a Duration back in days where it is whole days.
func (d Duration) MarshalYAML() (any, error) {
	v := time.Duration(d)
	if v%(24*time.Hour) == 0 {
		return fmt.Sprintf("%dd", v/(24*time.Hour)), nil
	}
	return v.String(), nil
}
