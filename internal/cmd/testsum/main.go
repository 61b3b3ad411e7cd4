// Command testsum reads `go test -json` on stdin, passes the test output
// through, and ends with what ran: per package the tests passed, failed
// and skipped, every skip with its reason (a skip is never silent), and a
// total. It exits 1 when a test or a package failed.
//
//	go test -json ./... | go run ./internal/cmd/testsum -title "make test"
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"sort"
	"strings"
)

type event struct {
	Action  string
	Package string
	Test    string
	Output  string
}

type pkgSum struct {
	pass, fail, skip int
	failed           bool
	skips            []string
}

func main() {
	title := flag.String("title", "tests", "what ran, for the summary")
	quiet := flag.Bool("q", false, "print only failing tests' output")
	flag.Parse()
	sums := map[string]*pkgSum{}
	out := map[string][]string{} // test → output lines, for failures and skips
	sc := bufio.NewScanner(os.Stdin)
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var e event
		if json.Unmarshal(sc.Bytes(), &e) != nil {
			fmt.Println(sc.Text()) // a build failure is not JSON
			continue
		}
		s := sums[e.Package]
		if s == nil {
			s = &pkgSum{}
			sums[e.Package] = s
		}
		key := e.Package + " " + e.Test
		switch e.Action {
		case "output":
			if !*quiet && e.Test == "" {
				fmt.Print(e.Output)
			}
			if e.Test != "" {
				out[key] = append(out[key], e.Output)
			}
		case "pass":
			if e.Test != "" {
				s.pass++
			}
		case "fail":
			if e.Test != "" {
				s.fail++
				fmt.Printf("--- FAIL %s %s\n%s", e.Package, e.Test, strings.Join(out[key], ""))
			} else {
				s.failed = true
			}
		case "skip":
			if e.Test != "" {
				s.skip++
				s.skips = append(s.skips, e.Test+": "+reason(out[key]))
			}
		}
	}
	var names []string
	for p := range sums {
		names = append(names, p)
	}
	sort.Strings(names)
	var pass, fail, skip int
	bad := false
	fmt.Printf("\n== %s: what ran\n", *title)
	for _, p := range names {
		s := sums[p]
		if s.pass+s.fail+s.skip == 0 && !s.failed {
			continue
		}
		state := "ok  "
		if s.failed || s.fail > 0 {
			state, bad = "FAIL", true
		}
		fmt.Printf("%s %-55s %4d passed %3d failed %3d skipped\n", state, strings.TrimPrefix(p, "github.com/custos-ir/custos/"), s.pass, s.fail, s.skip)
		for _, k := range s.skips {
			fmt.Printf("     SKIP %s\n", k)
		}
		pass, fail, skip = pass+s.pass, fail+s.fail, skip+s.skip
	}
	fmt.Printf("== %s: %d tests passed, %d failed, %d skipped\n", *title, pass, fail, skip)
	if bad {
		os.Exit(1)
	}
}

// reason is the last line a skipped test wrote before it skipped.
func reason(lines []string) string {
	for i := len(lines) - 1; i >= 0; i-- {
		l := strings.TrimSpace(lines[i])
		if l != "" && !strings.HasPrefix(l, "--- SKIP") && !strings.HasPrefix(l, "=== ") {
			return l
		}
	}
	return "(no reason given)"
}
