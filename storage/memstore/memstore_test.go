package memstore_test

import (
	"testing"

	"github.com/custos-ir/custos/storage"
	"github.com/custos-ir/custos/storage/memstore"
	"github.com/custos-ir/custos/storage/storagetest"
)

func TestConformance(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storage.Store { return memstore.New() }, storagetest.Options{LargeSize: 3 << 20})
}
