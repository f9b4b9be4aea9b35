package pattern_test

import (
	"fmt"

	"quadshare/internal/stix/pattern"
)

func ExampleParse() {
	p, err := pattern.Parse("([file:hashes.'SHA-256' = 'aec0' OR file:size>=1024]  FOLLOWEDBY [process:name IN ('a.exe','b.exe')]) WITHIN 300 SECONDS")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(p)
	fmt.Println(p.ObjectTypes())

	_, err = pattern.Parse("[file:name = 'x' AND ipv4-addr:value = '198.51.100.1']")
	fmt.Println(err)
	// Output:
	// ([file:hashes.'SHA-256' = 'aec0' OR file:size >= 1024] FOLLOWEDBY [process:name IN ('a.exe', 'b.exe')]) WITHIN 300 SECONDS
	// [file process]
	// pattern: at column 22: comparisons joined by AND must be satisfiable by one object, but "file" and "ipv4-addr" are different object types; join them with OR (§9.5)
}
