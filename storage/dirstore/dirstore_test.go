package dirstore_test

import (
	"testing"

	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/dirstore"
	"github.com/custos-ir/custos/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store {
		st, err := dirstore.New(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		return st
	}, storagetest.Options{})
}
