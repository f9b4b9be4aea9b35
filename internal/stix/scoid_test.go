package stix

import (
	"errors"
	"testing"
)

// Vectors are example SCOs of the STIX 2.1 specification whose ids were computed with
// the §2.9 algorithm (§3.4 warns that some other examples use UUIDv4 ids).
var scoIDVectors = []string{
	`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4","value":"198.51.100.3"}`,
	`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--1ea47840-aa39-5aa8-b4a2-cd203eb6662a","value":"198.51.100.0/24"}`,
	`{"type":"ipv6-addr","spec_version":"2.1","id":"ipv6-addr--85a85a8c-ee99-5722-946d-3c3a3270fc6f","value":"2001:0db8:85a3:0000:0000:8a2e:0370:7334"}`,
	`{"type":"domain-name","spec_version":"2.1","id":"domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7","value":"example.com","resolves_to_refs":["ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"]}`,
	`{"type":"url","spec_version":"2.1","id":"url--47c3cf9a-5027-5bf0-997a-017c7edc7c55","value":"https://example.com/research/index.html"}`,
	`{"type":"email-addr","spec_version":"2.1","id":"email-addr--7165e2a9-671f-585d-b1e1-ca59c671d934","value":"john@example.com","display_name":"John Doe"}`,
	`{"type":"mac-addr","spec_version":"2.1","id":"mac-addr--757b1725-9903-54f5-a855-1240691d7659","value":"d2:fb:49:24:37:18"}`,
	`{"type":"mutex","spec_version":"2.1","id":"mutex--f93fe911-e545-5239-b9b0-597840d0c871","name":"__CLEANSWEEP__"}`,
	`{"type":"autonomous-system","spec_version":"2.1","id":"autonomous-system--3aa27478-50b5-5ab8-9da9-cdc12b657fff","number":15139,"name":"Slime Industries","rir":"ARIN"}`,
	`{"type":"directory","spec_version":"2.1","id":"directory--0a58d0c1-59e6-5afd-8252-dcd3f13e5622","path":"C:\\Windows\\System32"}`,
	`{"type":"file","spec_version":"2.1","id":"file--7d1e3a18-89e7-5bc5-be36-9879f5b7f5c8","hashes":{"SHA-256":"841a8921140aba50671ebb0770fecc4ee308c4952cfeff8de154ab14eeef4649"},"name":"quêry.dll","name_enc":"windows-1252"}`,
	`{"type":"software","spec_version":"2.1","id":"software--710b0b41-d4d0-5d6c-a400-fc9254554ffc","name":"Word","cpe":"cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*","version":"2002","vendor":"Microsoft"}`,
	`{"type":"user-account","spec_version":"2.1","id":"user-account--f223e803-846b-591a-aefa-545e938f8a56","user_id":"thegrugq_ebooks","account_login":"thegrugq_ebooks","account_type":"twitter","display_name":"the grugq"}`,
	`{"type":"windows-registry-key","spec_version":"2.1","id":"windows-registry-key--f6a11ddf-fa2b-54c8-97ab-e7f28413095a","key":"hkey_local_machine\\system\\bar\\foo","values":[{"name":"Foo","data":"qwerty","data_type":"REG_SZ"},{"name":"Bar","data":"42","data_type":"REG_DWORD"}]}`,
	`{"type":"artifact","spec_version":"2.1","id":"artifact--a785c567-cc53-52a1-abeb-026bb7ddf8ba","mime_type":"image/jpeg","payload_bin":"VBORw0KGgoAAAANSUhEUgAAADI== ..."}`,
}

func TestSCOIDSpecExamples(t *testing.T) {
	for _, raw := range scoIDVectors {
		o, err := Decode([]byte(raw))
		if err != nil {
			t.Fatalf("%s: %v", raw, err)
		}
		got, err := SCOID(o.Type, []byte(raw))
		if err != nil {
			t.Errorf("%s: %v", o.ID, err)
			continue
		}
		if got != o.ID {
			t.Errorf("SCOID = %s, want %s", got, o.ID)
		}
		if err := CheckSCOID([]byte(raw)); err != nil {
			t.Errorf("CheckSCOID(%s) = %v", o.ID, err)
		}
	}
}

func TestSCOIDRules(t *testing.T) {
	// Only the contributing properties count: display_name does not change the id.
	a, err := SCOID("email-addr", []byte(`{"value":"john@example.com"}`))
	if err != nil {
		t.Fatal(err)
	}
	if a != "email-addr--7165e2a9-671f-585d-b1e1-ca59c671d934" {
		t.Errorf("email-addr id = %s", a)
	}
	// One hash is chosen, by preference MD5 first; adding a SHA-256 beside the MD5
	// does not change the id, adding an MD5 beside a SHA-256 does.
	md5 := `"MD5":"3773a88f65a5e780c8dff9cdc3a056f3"`
	sha := `"SHA-256":"fe90a7e910cb3a4739bed9180e807e93fa70c90f25a8915476f5e4bfbac681db"`
	only, _ := SCOID("file", []byte(`{"hashes":{`+md5+`}}`))
	both, _ := SCOID("file", []byte(`{"hashes":{`+sha+`,`+md5+`}}`))
	shaOnly, _ := SCOID("file", []byte(`{"hashes":{`+sha+`}}`))
	if only != both {
		t.Errorf("MD5 should win: %s != %s", only, both)
	}
	if shaOnly == both {
		t.Errorf("SHA-256 alone should give another id")
	}
	// No contributing property: UUIDv4 is required (§2.9).
	if _, err := SCOID("process", []byte(`{"pid":4}`)); !errors.Is(err, ErrNoContributing) {
		t.Errorf("process: err = %v, want ErrNoContributing", err)
	}
	if _, err := SCOID("file", []byte(`{"size":4}`)); !errors.Is(err, ErrNoContributing) {
		t.Errorf("file without contributing properties: err = %v", err)
	}
	if _, err := SCOID("indicator", []byte(`{}`)); err == nil {
		t.Error("indicator is not an SCO")
	}
	// A wrong id is reported, and named.
	bad := `{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--6da8dad3-4de3-5f8e-ab23-45d0b8f12f16","value":"198.51.100.3"}`
	err = CheckSCOID([]byte(bad))
	var e *Error
	if !errors.As(err, &e) || e.Rule != RuleSCOID {
		t.Fatalf("CheckSCOID of a wrong id = %v", err)
	}
	// ... but the object is still valid: the rule is a SHOULD.
	if _, err := Parse([]byte(bad)); err != nil {
		t.Errorf("Parse rejects an SCO for a non-deterministic id: %v", err)
	}
}
