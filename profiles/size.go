package profiles

import "github.com/custos-ir/custos/internal/units"

// Size is a byte count in a profile: 1048576, 512KiB, 20MiB, 4GiB.
type Size = units.Size

// ParseSize reads a Size.
func ParseSize(s string) (Size, error) { return units.ParseSize(s) }
