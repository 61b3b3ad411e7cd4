// Command mkcorpus writes a reproducible, log-like benchmark corpus: web
// server access and error logs, rotated gzip logs, an application log and
// some random binary, in the proportions a breached web shop's /var/log
// shows. Same seed, same bytes.
//
//	go run ./internal/cmd/mkcorpus -size 1GiB -dir /tmp/corpus
package main

import (
	"bufio"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/custos-ir/custos/internal/units"
)

func main() {
	dir := flag.String("dir", "corpus", "output directory")
	sizeS := flag.String("size", "1GiB", "total size on disk")
	small := flag.Int("small", 0, "also write this many small files (a 20,000-file tree is the issue 9 case)")
	smallBytes := flag.Int("small-bytes", 0, "make each small file this many bytes (0: 512 to 8,703)")
	iocN := flag.Int("ioc", 0, "write an indicator list of this many entries to -ioc-file instead of a corpus")
	iocFile := flag.String("ioc-file", "bench.ioc", "where -ioc writes")
	flag.Parse()
	if *iocN > 0 {
		if err := writeIndicators(*iocFile, *iocN); err != nil {
			fatal(err)
		}
		return
	}
	size, err := units.ParseSize(*sizeS)
	if err != nil {
		fatal(err)
	}
	total := int64(size)
	r := rand.New(rand.NewPCG(1, 2))
	// Shares of the total: the live access log, its rotations, gzip
	// rotations, error logs, an app log, random binary.
	parts := []struct {
		name  string
		share float64
		kind  string
	}{
		{"nginx/access.log", 0.30, "access"},
		{"nginx/access.log.1", 0.20, "access"},
		{"nginx/access.log.2.gz", 0.05, "access-gz"},
		{"nginx/access.log.3.gz", 0.05, "access-gz"},
		{"nginx/error.log", 0.05, "error"},
		{"php8.2-fpm.log", 0.05, "error"},
		{"magento/system.log", 0.15, "app"},
		{"magento/exception.log", 0.05, "app"},
		{"blob/core.dump", 0.10, "random"},
	}
	for _, p := range parts {
		path := filepath.Join(*dir, p.name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			fatal(err)
		}
		n := int64(float64(total) * p.share)
		if err := write(path, p.kind, n, r); err != nil {
			fatal(err)
		}
	}
	for i := 0; i < *small; i++ {
		path := filepath.Join(*dir, "tree", fmt.Sprintf("d%03d", i/200), fmt.Sprintf("f%05d.php", i))
		os.MkdirAll(filepath.Dir(path), 0o755)
		n := int64(512 + r.IntN(8192))
		if *smallBytes > 0 {
			n = int64(*smallBytes)
		}
		if err := write(path, "app", n, r); err != nil {
			fatal(err)
		}
	}
}

func write(path, kind string, n int64, r *rand.Rand) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	defer f.Close()
	bw := bufio.NewWriterSize(f, 1<<20)
	var w io.Writer = bw
	var gz *gzip.Writer
	var cw *countW
	if kind == "access-gz" {
		// n is the compressed size on disk; logs gzip about 10:1.
		cw = &countW{w: bw}
		gz, _ = gzip.NewWriterLevel(cw, gzip.BestSpeed)
		w = gz
		kind = "access"
	}
	t := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	var written int64
	buf := make([]byte, 0, 512)
	for {
		if cw != nil && cw.n >= n || cw == nil && written >= n {
			break
		}
		buf = buf[:0]
		t = t.Add(time.Duration(r.IntN(900)) * time.Millisecond)
		switch kind {
		case "access":
			buf = fmt.Appendf(buf, "%d.%d.%d.%d - - [%s] \"%s %s HTTP/1.1\" %s %d \"%s\" \"%s\"\n",
				r.IntN(223)+1, r.IntN(256), r.IntN(256), r.IntN(256), t.Format("02/Jan/2006:15:04:05 -0700"),
				pick(r, methods), pick(r, paths)+fmt.Sprintf("?id=%d", r.IntN(100000)), pick(r, codes), r.IntN(60000),
				pick(r, referers), pick(r, agents))
		case "error":
			buf = fmt.Appendf(buf, "%s [error] %d#%d: *%d %s, client: 10.0.%d.%d, server: shop.example, request: \"GET %s HTTP/1.1\"\n",
				t.Format("2006/01/02 15:04:05"), r.IntN(64), r.IntN(64), r.IntN(1e7), pick(r, errors), r.IntN(256), r.IntN(256), pick(r, paths))
		case "app":
			buf = fmt.Appendf(buf, "[%s] main.%s: %s {\"order\":%d,\"quote\":%d} []\n",
				t.Format(time.RFC3339), pick(r, levels), pick(r, appmsgs), r.IntN(1e6), r.IntN(1e6))
		case "random":
			buf = buf[:cap(buf)]
			for i := range buf {
				buf[i] = byte(r.Uint32())
			}
		}
		k, err := w.Write(buf)
		written += int64(k)
		if err != nil {
			return err
		}
	}
	if gz != nil {
		if err := gz.Close(); err != nil {
			return err
		}
	}
	return bw.Flush()
}

type countW struct {
	w io.Writer
	n int64
}

func (c *countW) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

func pick(r *rand.Rand, s []string) string { return s[r.IntN(len(s))] }

var (
	methods  = []string{"GET", "GET", "GET", "GET", "POST", "HEAD"}
	paths    = []string{"/", "/checkout/", "/checkout/onepage/success/", "/customer/account/login/", "/catalog/product/view/id/1182", "/static/version1700000000/frontend/Magento/luma/en_US/mage/requirejs/mixins.js", "/media/catalog/product/cache/1/image/700x700/e9c3970ab036de70892d86c6d221abfe/m/b/mb01-blue-0.jpg", "/rest/V1/guest-carts/", "/admin_1x9k2/admin/index/index/", "/pub/errors/report.php", "/graphql"}
	codes    = []string{"200", "200", "200", "200", "302", "304", "404", "500"}
	referers = []string{"-", "https://shop.example/", "https://www.google.com/", "https://shop.example/checkout/"}
	agents   = []string{"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36", "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148", "curl/8.5.0", "python-requests/2.32.3", "Googlebot/2.1 (+http://www.google.com/bot.html)"}
	errors   = []string{"FastCGI sent in stderr: \"PHP message: PHP Warning:  Undefined array key\"", "upstream timed out (110: Connection timed out) while reading response header from upstream", "open() \"/var/www/shop/pub/favicon.ico\" failed (2: No such file or directory)", "client intended to send too large body"}
	levels   = []string{"INFO", "INFO", "DEBUG", "WARNING", "ERROR", "CRITICAL"}
	appmsgs  = []string{"Cron Job indexer_reindex_all_invalid is successfully finished", "Add of item with id Magento_Sales::sales_order was processed", "Broken reference: the 'header.panel' element cannot be added as child", "Payment capture failed: gateway timeout", "Customer login attempt for unknown email"}
)

func fatal(err error) {
	fmt.Fprintln(os.Stderr, "mkcorpus:", err)
	os.Exit(1)
}

// writeIndicators writes a list shaped like a threat-intelligence feed:
// mostly file hashes (SHA-256, MD5), then domains, IPv4 addresses, a few
// address prefixes and strings. Same seed, same list.
func writeIndicators(path string, n int) error {
	r := rand.New(rand.NewPCG(7, 7))
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	fmt.Fprintf(w, "# %d indicators, generated for make bench\n", n)
	for i := 0; i < n; i++ {
		switch k := i % 20; {
		case k < 10:
			fmt.Fprintf(w, "%016x%016x%016x%016x\n", r.Uint64(), r.Uint64(), r.Uint64(), r.Uint64())
		case k < 13:
			fmt.Fprintf(w, "%016x%016x\n", r.Uint64(), r.Uint64())
		case k < 16:
			fmt.Fprintf(w, "cdn%d-%x.example.net\n", i, r.Uint32())
		case k < 19:
			fmt.Fprintf(w, "%d.%d.%d.%d\n", 1+r.IntN(223), r.IntN(256), r.IntN(256), 1+r.IntN(254))
		default:
			if i%40 == 19 {
				fmt.Fprintf(w, "cidr:%d.%d.%d.0/24\n", 1+r.IntN(223), r.IntN(256), r.IntN(256))
			} else {
				fmt.Fprintf(w, "string:/wp-content/x%x.php\n", r.Uint32())
			}
		}
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return f.Close()
}
