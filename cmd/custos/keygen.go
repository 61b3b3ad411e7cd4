package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"time"

	"filippo.io/age"
)

type keygenOptions struct {
	output string
}

func runKeygenCmd(ctx context.Context, args []string, io stdio) error {
	var o keygenOptions
	f := newFlags("keygen", "-o FILE", `  custos keygen -o team.key     # prints the public key (age1...) to give to collectors`, io)
	f.StringVarP(&o.output, "output", "o", "", "write the private key to `FILE` (mode 0600; must not exist)")
	if err := parseFlags(f, args); err != nil {
		return err
	}
	if o.output == "" {
		return usageErr("--output FILE is required: the private key never goes to the terminal")
	}
	return runKeygen(o, io)
}

func runKeygen(o keygenOptions, io stdio) error {
	id, err := age.GenerateX25519Identity()
	if err != nil {
		return err
	}
	file, err := os.OpenFile(o.output, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return fmt.Errorf("%s already exists: choose a new file, an identity is never overwritten", o.output)
	}
	if err != nil {
		return fmt.Errorf("identity file: %w", err)
	}
	_, err = fmt.Fprintf(file, "# created: %s by custos keygen\n# public key: %s\n%s\n",
		time.Now().UTC().Format(time.RFC3339), id.Recipient(), id)
	if cerr := file.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(o.output)
		return fmt.Errorf("identity file %s: %w", o.output, err)
	}
	fmt.Fprintf(io.err, "custos: wrote the private key to %s; keep it off the hosts you collect from\n", o.output)
	fmt.Fprintln(io.out, id.Recipient())
	return nil
}
