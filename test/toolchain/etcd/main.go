// Command etcd is the etcd server, built from the pinned module for the local
// control plane of the end-to-end tests.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
