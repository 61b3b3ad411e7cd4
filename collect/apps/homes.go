package apps

import (
	"path"
	"strings"
)

// Account is one line of /etc/passwd.
type Account struct {
	Name  string
	UID   string
	Home  string
	Shell string
}

// parsePasswd reads passwd(5) lines; a line with fewer than seven fields
// is skipped (and counted in bad).
func parsePasswd(b []byte) (accts []Account, bad int) {
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimRight(l, "\r")
		if l == "" || l[0] == '#' {
			continue
		}
		f := strings.Split(l, ":")
		if len(f) < 7 {
			bad++
			continue
		}
		accts = append(accts, Account{Name: f[0], UID: f[2], Home: f[5], Shell: f[6]})
	}
	return accts, bad
}

// homeFiles are what a home holds worth taking, relative to it: SSH,
// every shell's and tool's history, login scripts, mail forwarding, user
// units and autostart entries.
var homeFiles = []string{
	".ssh",
	".bash_history", ".zsh_history", ".zhistory", ".history", ".sh_history", ".ash_history", ".*_history",
	".local/share/fish/fish_history", ".config/fish/fish_history",
	".mysql_history", ".psql_history", ".sqlite_history", ".rediscli_history", ".php_history", ".python_history",
	".node_repl_history", ".viminfo", ".lesshst", ".wget-hsts", ".selected_editor",
	".bashrc", ".bash_profile", ".bash_login", ".bash_logout", ".profile", ".zshrc", ".zshenv", ".zprofile", ".zlogin",
	".zlogout", ".cshrc", ".tcshrc", ".login", ".config/fish/config.fish", ".config/fish/conf.d",
	".forward", ".rhosts", ".shosts", ".netrc", ".my.cnf", ".pgpass", ".gitconfig", ".git-credentials",
	".config/systemd", ".local/share/systemd/user", ".config/autostart",
}

// homeSecrets are the home files whose content is a credential.
var homeSecrets = []string{".netrc", ".my.cnf", ".pgpass", ".git-credentials"}

// sshdConfigs are sshd's configuration and its drop-ins.
var sshdConfigs = []string{"/etc/ssh/sshd_config", "/etc/ssh/sshd_config.d/*.conf"}

// authorizedKeys reads AuthorizedKeysFile and AuthorizedPrincipalsFile
// from sshd's configuration (Include followed, every Match block
// included): their values as written, %h, %u and %U still in them.
func (h Host) authorizedKeys() (files []string, read []string, finds []Finding) {
	seen := map[string]bool{}
	var walk func(p string)
	walk = func(p string) {
		if seen[p] || len(seen) >= maxIncludes {
			return
		}
		seen[p] = true
		b, err := h.read(p)
		if err != nil {
			if p == sshdConfigs[0] {
				finds = append(finds, Finding{What: "sshd configuration not read", Where: p, Detail: err.Error() + " (the default .ssh/authorized_keys and authorized_keys2 are taken)"})
			}
			return
		}
		read = append(read, p)
		for _, l := range strings.Split(string(b), "\n") {
			f := splitQuoted(strings.Replace(strings.TrimSpace(l), "=", " ", 1))
			if len(f) < 2 || strings.HasPrefix(f[0], "#") {
				continue
			}
			switch strings.ToLower(f[0]) {
			case "include":
				for _, inc := range f[1:] {
					for _, g := range h.glob(abs("/etc/ssh", inc), false) {
						walk(g)
					}
				}
			case "authorizedkeysfile", "authorizedprincipalsfile":
				for _, v := range f[1:] {
					if v != "none" && !contains(files, v) {
						files = append(files, v)
					}
				}
			}
		}
	}
	for _, pat := range sshdConfigs {
		for _, p := range h.glob(pat, false) {
			walk(p)
		}
	}
	if len(files) == 0 {
		files = []string{".ssh/authorized_keys", ".ssh/authorized_keys2"}
	}
	return files, read, finds
}

// keyPath expands one AuthorizedKeysFile value for an account: %h is its
// home, %u its name, %U its uid, %% a percent; a relative path is below
// the home.
func keyPath(v string, a Account) string {
	r := strings.NewReplacer("%%", "%", "%h", a.Home, "%u", a.Name, "%U", a.UID)
	p := r.Replace(v)
	if !strings.HasPrefix(p, "/") {
		p = a.Home + "/" + p
	}
	return path.Clean(p)
}

// Homes is every account's home as /etc/passwd names it (www-data in
// /var/www, mysql in /var/lib/mysql, a shop user in /srv or /opt), each
// with what homeFiles names, the authorized keys files sshd's own
// configuration sets, and root's and /home/*'s for accounts passwd does not
// list (a home left by a deleted user). Private keys (.ssh/id_*) are
// left out, as everywhere in linux-base.
func (h Host) Homes() ([]FileSet, []Finding) {
	var finds []Finding
	b, err := h.read("/etc/passwd")
	var accts []Account
	if err != nil {
		finds = append(finds, Finding{What: "accounts not read", Where: "/etc/passwd", Detail: err.Error() + " (only /root and /home/* are taken)", Failure: true})
	} else {
		var bad int
		accts, bad = parsePasswd(b)
		if bad > 0 {
			finds = append(finds, Finding{What: "lines of /etc/passwd that are not accounts", Where: "/etc/passwd", Detail: itoa(bad) + " skipped"})
		}
	}
	keyFiles, _, kf := h.authorizedKeys()
	finds = append(finds, kf...)
	accts = append(accts, Account{Name: "root", Home: "/root"})
	for _, d := range h.glob("/home/*", true) {
		accts = append(accts, Account{Name: path.Base(d), Home: d})
	}
	var sets []FileSet
	done := map[string]bool{}
	for _, a := range accts {
		home := path.Clean(a.Home)
		if !strings.HasPrefix(home, "/") || home == "/" || home == "/nonexistent" || home == "/dev/null" || done[a.Name+"\x00"+home] {
			continue
		}
		done[a.Name+"\x00"+home] = true
		fs := FileSet{Name: "home of " + a.Name, Why: "/etc/passwd: " + a.Name + " lives in " + home}
		if !done[home] {
			done[home] = true
			for _, f := range homeFiles {
				fs.Patterns = append(fs.Patterns, home+"/"+f)
			}
			fs.Excludes = append(fs.Excludes, home+"/.ssh/id_*")
			for _, f := range homeSecrets {
				fs.Sensitive = append(fs.Sensitive, home+"/"+f)
			}
		}
		for _, k := range keyFiles {
			if p := keyPath(k, a); !contains(fs.Patterns, p) && !strings.HasPrefix(p, home+"/.ssh/") {
				fs.Patterns = append(fs.Patterns, p)
			}
		}
		if len(fs.Patterns) > 0 && h.exists(home) {
			sets = append(sets, fs)
		}
	}
	return sets, finds
}

func itoa(n int) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}
