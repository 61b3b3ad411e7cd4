package magento

import (
	"encoding/xml"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/custos-ir/custos/collect/mysqldump"
)

var prefixRE = regexp.MustCompile(`^[A-Za-z0-9_]{0,32}$`)

// ErrNoDB is returned when a file holds no database connection.
var ErrNoDB = errors.New("no database connection configured")

// EnvDB reads db.connection.default and db.table_prefix from Magento 2's
// app/etc/env.php.
func EnvDB(envPHP []byte) (mysqldump.Conn, error) {
	a, err := ParseArray(envPHP)
	if err != nil {
		return mysqldump.Conn{}, fmt.Errorf("env.php: %w", err)
	}
	c := []string{"db", "connection", "default"}
	host := a.String(append(c, "host")...)
	if host == "" && a.Get(c...) == nil {
		return mysqldump.Conn{}, fmt.Errorf("env.php: %w (db.connection.default)", ErrNoDB)
	}
	d := mysqldump.Conn{Name: a.String(append(c, "dbname")...), User: a.String(append(c, "username")...),
		Password: a.String(append(c, "password")...), TablePrefix: a.String("db", "table_prefix"), Source: "env.php"}
	if err := setHost(&d, host); err != nil {
		return mysqldump.Conn{}, err
	}
	return d, validate(d)
}

// setHost reads localhost, host:port, [v6]:port, /path.sock and
// localhost:/path.sock.
func setHost(d *mysqldump.Conn, h string) error {
	d.Port = 3306
	switch {
	case h == "":
		d.Host = "localhost"
	case strings.HasPrefix(h, "/"):
		d.Socket = h
	case strings.Contains(h, ":/"):
		i := strings.Index(h, ":/")
		d.Host, d.Socket = h[:i], h[i+1:]
	case strings.HasPrefix(h, "["):
		end := strings.Index(h, "]")
		if end < 0 {
			return fmt.Errorf("host %q: unterminated [", h)
		}
		d.Host = h[1:end]
		if rest := h[end+1:]; strings.HasPrefix(rest, ":") {
			p, err := strconv.Atoi(rest[1:])
			if err != nil {
				return fmt.Errorf("host %q: bad port", h)
			}
			d.Port = p
		}
	case strings.Count(h, ":") == 1:
		host, port, _ := strings.Cut(h, ":")
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return fmt.Errorf("host %q: bad port", h)
		}
		d.Host, d.Port = host, p
	default:
		d.Host = h
	}
	return nil
}

func validate(d mysqldump.Conn) error {
	if !prefixRE.MatchString(d.TablePrefix) {
		return fmt.Errorf("table prefix %q is not an identifier (letters, digits, _): refusing to put it in a query", d.TablePrefix)
	}
	if d.Name == "" {
		return fmt.Errorf("%s names no database (dbname)", d.Source)
	}
	return nil
}

// LocalXMLDB reads Magento 1's app/etc/local.xml.
func LocalXMLDB(b []byte) (mysqldump.Conn, error) {
	var doc struct {
		Resources struct {
			DB struct {
				Prefix string `xml:"table_prefix"`
			} `xml:"db"`
			Setup struct {
				Conn struct {
					Host     string `xml:"host"`
					User     string `xml:"username"`
					Password string `xml:"password"`
					Name     string `xml:"dbname"`
				} `xml:"connection"`
			} `xml:"default_setup"`
		} `xml:"global>resources"`
	}
	if err := xml.Unmarshal(b, &doc); err != nil {
		return mysqldump.Conn{}, fmt.Errorf("local.xml: %v", err)
	}
	c := doc.Resources.Setup.Conn
	if c.Host == "" && c.Name == "" {
		return mysqldump.Conn{}, fmt.Errorf("local.xml: %w (global/resources/default_setup/connection)", ErrNoDB)
	}
	d := mysqldump.Conn{Name: strings.TrimSpace(c.Name), User: strings.TrimSpace(c.User), Password: c.Password,
		TablePrefix: strings.TrimSpace(doc.Resources.DB.Prefix), Source: "local.xml"}
	if err := setHost(&d, strings.TrimSpace(c.Host)); err != nil {
		return mysqldump.Conn{}, err
	}
	return d, validate(d)
}
