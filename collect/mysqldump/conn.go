package mysqldump

import (
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Conn is where a database is and who to log in as: from a store's own
// configuration or from a profile.
type Conn struct {
	Host        string
	Port        int
	Socket      string
	Name        string
	User        string
	Password    string
	TablePrefix string
	Source      string // "env.php", "local.xml", "profile"
}

// String names the database without the password.
func (d Conn) String() string {
	where := d.Socket
	if where == "" {
		where = fmt.Sprintf("%s:%d", d.Host, d.Port)
	}
	return fmt.Sprintf("%s@%s/%s (from %s)", d.User, where, d.Name, d.Source)
}

// Key says which database this is, for telling two configurations that
// name the same one apart from two that do not.
func (d Conn) Key() string {
	host := d.Host
	if host == "localhost" || host == "127.0.0.1" || host == "::1" {
		host = "local"
	}
	return fmt.Sprintf("%s|%d|%s|%s|%s", host, d.Port, d.Socket, d.Name, d.TablePrefix)
}

// Local reports whether the server runs on this host (a socket or a
// loopback address), where its log files can be read as files.
func (d Conn) Local() bool {
	if d.Socket != "" || d.Host == "localhost" {
		return true
	}
	ip := net.ParseIP(d.Host)
	return ip != nil && ip.IsLoopback()
}

// Addr is the server's address for the record: host:port or the socket.
func (d Conn) Addr() string {
	if d.Socket != "" {
		return d.Socket
	}
	return net.JoinHostPort(d.Host, fmt.Sprint(d.Port))
}

// Config is the go-sql-driver/mysql configuration, with timeouts so a
// stuck server cannot hang a collection.
func (d Conn) Config() *mysql.Config {
	c := mysql.NewConfig()
	c.User, c.Passwd, c.DBName = d.User, d.Password, d.Name
	if d.Socket != "" {
		c.Net, c.Addr = "unix", d.Socket
	} else {
		c.Net = "tcp"
		host := d.Host
		if host == "localhost" {
			host = "127.0.0.1"
		}
		c.Addr = net.JoinHostPort(host, fmt.Sprint(d.Port))
	}
	c.ParseTime = false
	c.Timeout = 10 * time.Second
	c.ReadTimeout = 10 * time.Minute
	c.Params = map[string]string{"charset": "utf8mb4"}
	return c
}

// DSN is Config as a connection string.
func (d Conn) DSN() string { return d.Config().FormatDSN() }

// quoteIdent quotes a name for SQL text, doubling any backtick in it.
func quoteIdent(s string) string { return "`" + strings.ReplaceAll(s, "`", "``") + "`" }
