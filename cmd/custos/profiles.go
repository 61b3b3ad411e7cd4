package main

import (
	"context"
	"fmt"

	"go.yaml.in/yaml/v3"

	"github.com/custos-ir/custos/profiles"
)

const profilesExample = `  custos profiles list
  custos profiles show magento
  custos profiles validate ./shop.yaml`

func runProfilesCmd(ctx context.Context, args []string, std stdio) error {
	f := newFlags("profiles", "list | show NAME|FILE | validate FILE", profilesExample, std)
	if err := parseFlags(f, args); err != nil {
		return err
	}
	switch {
	case f.NArg() == 1 && f.Arg(0) == "list":
		width := 0
		for _, n := range profiles.Names() {
			width = max(width, len(n))
		}
		for _, n := range profiles.Names() {
			p, err := profiles.Load(n)
			if err != nil {
				return err
			}
			fmt.Fprintf(std.out, "%-*s %-8s %s\n", width, n, p.Platform, p.Description)
		}
		return nil
	case f.NArg() == 2 && f.Arg(0) == "show":
		p, err := profiles.Load(f.Arg(1))
		if err != nil {
			return usageErr("%v", err)
		}
		fmt.Fprintf(std.out, "# %s (%s), sha256 %x, includes resolved\n", p.Name, p.Source, p.SHA256)
		enc := yaml.NewEncoder(std.out)
		enc.SetIndent(2)
		defer enc.Close()
		return enc.Encode(p)
	case f.NArg() == 2 && f.Arg(0) == "validate":
		p, err := profiles.Load(f.Arg(1))
		if err != nil {
			return err
		}
		fmt.Fprintf(std.err, "custos: %s: profile %s is valid: %d artifacts for %s, sha256 %x\n", f.Arg(1), p.Name, len(p.Artifacts), p.Platform, p.SHA256)
		return nil
	}
	return usageErr("want: custos profiles list | show NAME|FILE | validate FILE")
}
