package apps

import (
	"path"
	"strings"
)

// Varnish keeps its log in shared memory only: the VSM files of each
// instance's working directory (/var/lib/varnish/NAME, a tmpfs, -n NAME)
// hold the recent requests, which exist nowhere else. varnishncsa, if it
// runs, writes them to the file its -w names.

// varnishUnits are where varnishd's and varnishncsa's options are set.
var varnishUnits = []string{
	"/etc/systemd/system/varnish.service", "/etc/systemd/system/varnish.service.d/*.conf",
	"/lib/systemd/system/varnish.service", "/usr/lib/systemd/system/varnish.service",
	"/etc/systemd/system/varnishncsa.service", "/etc/systemd/system/varnishncsa.service.d/*.conf",
	"/lib/systemd/system/varnishncsa.service", "/usr/lib/systemd/system/varnishncsa.service",
	"/etc/default/varnish", "/etc/default/varnishncsa", "/etc/sysconfig/varnish", "/etc/sysconfig/varnishncsa",
	"/etc/varnish/varnish.params",
}

// varnishOpts reads the -n (working directory) and -w (varnishncsa's
// output) options from unit ExecStart lines and the shell variables of
// /etc/default and /etc/sysconfig.
func varnishOpts(b []byte) (workdirs, outputs []string) {
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" || l[0] == '#' {
			continue
		}
		words := splitQuoted(strings.NewReplacer("=", " ", `"`, " ", "'", " ").Replace(l))
		for i := 0; i+1 < len(words); i++ {
			switch words[i] {
			case "-n", "VARNISH_NAME", "INSTANCE":
				workdirs = append(workdirs, words[i+1])
			case "-w", "VARNISHNCSA_LOG", "LOGFILE":
				outputs = append(outputs, words[i+1])
			}
		}
	}
	return workdirs, outputs
}

// varnish finds each instance's VSM files and varnishncsa's output.
func (h Host) varnish() (shm, logs []string, files []string) {
	dirs := []string{"/var/lib/varnish"} // every instance's working directory, by default
	for _, pat := range varnishUnits {
		for _, f := range h.glob(pat, false) {
			b, err := h.read(f)
			if err != nil {
				continue
			}
			files = append(files, f)
			wd, out := varnishOpts(b)
			for _, d := range wd {
				if !strings.HasPrefix(d, "/") {
					d = "/var/lib/varnish/" + d
				}
				dirs = append(dirs, path.Clean(d))
			}
			for _, o := range out {
				if p := abs("/", o); p != "" {
					logs = append(logs, globify(p))
				}
			}
		}
	}
	for _, d := range dirs {
		if h.exists(d) && !contains(shm, d) {
			shm = append(shm, d)
		}
	}
	return shm, logs, files
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
