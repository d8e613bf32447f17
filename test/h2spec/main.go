// Command h2spec runs the HTTP/2 conformance suite (h2spec, MIT, in ../shared/tools/h2spec/src)
// against one server. The shared source has no main package; this is Portico's own, with the
// flags test/server/h2spec.test.ts uses.
package main

import (
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/summerwind/h2spec"
	"github.com/summerwind/h2spec/config"
)

func main() {
	host := flag.String("h", "127.0.0.1", "target host")
	port := flag.Int("p", 0, "target port")
	useTLS := flag.Bool("t", false, "connect over TLS")
	insecure := flag.Bool("k", false, "do not verify the server's certificate")
	timeout := flag.Int("o", 2, "seconds allowed per test")
	junit := flag.String("j", "", "write a JUnit report to this file")
	strict := flag.Bool("S", false, "also run the tests marked strict")
	flag.Parse()

	c := &config.Config{
		Host:         *host,
		Port:         *port,
		Path:         "/",
		Timeout:      time.Duration(*timeout) * time.Second,
		MaxHeaderLen: 4000,
		JUnitReport:  *junit,
		Strict:       *strict,
		TLS:          *useTLS,
		Insecure:     *insecure,
	}
	ok, err := h2spec.Run(c)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	if !ok {
		os.Exit(1)
	}
}
