//go:build !amd64 || purego

package sha256x

type mode struct {
	name string
	set  func() (restore func())
}

// modes: this build has one implementation, crypto/sha256.
func modes() []mode {
	return []mode{{"crypto", func() func() { return func() {} }}}
}
