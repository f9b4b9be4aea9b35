package stix

import "strings"

// Kind is the category of a STIX object (§1.2, §3.2's common property table).
type Kind uint8

// Kinds of objects.
const (
	KindCustom    Kind = iota // a custom object (§11.2) or one defined by an extension (§7.3)
	KindSDO                   // §4
	KindSRO                   // §5
	KindSCO                   // §6
	KindMarking               // marking-definition, §7.2.1
	KindLanguage              // language-content, §7.1
	KindExtension             // extension-definition, §7.3
	KindBundle                // bundle, §8
)

var kindOf = map[string]Kind{
	"attack-pattern": KindSDO, "campaign": KindSDO, "course-of-action": KindSDO,
	"grouping": KindSDO, "identity": KindSDO, "incident": KindSDO, "indicator": KindSDO,
	"infrastructure": KindSDO, "intrusion-set": KindSDO, "location": KindSDO,
	"malware": KindSDO, "malware-analysis": KindSDO, "note": KindSDO,
	"observed-data": KindSDO, "opinion": KindSDO, "report": KindSDO,
	"threat-actor": KindSDO, "tool": KindSDO, "vulnerability": KindSDO,

	"relationship": KindSRO, "sighting": KindSRO,

	"artifact": KindSCO, "autonomous-system": KindSCO, "directory": KindSCO,
	"domain-name": KindSCO, "email-addr": KindSCO, "email-message": KindSCO,
	"file": KindSCO, "ipv4-addr": KindSCO, "ipv6-addr": KindSCO, "mac-addr": KindSCO,
	"mutex": KindSCO, "network-traffic": KindSCO, "process": KindSCO,
	"software": KindSCO, "url": KindSCO, "user-account": KindSCO,
	"windows-registry-key": KindSCO, "x509-certificate": KindSCO,

	"marking-definition":   KindMarking,
	"language-content":     KindLanguage,
	"extension-definition": KindExtension,
	"bundle":               KindBundle,
}

// KindOf returns the kind of a type name; KindCustom for a type the specification
// does not define.
func KindOf(typ string) Kind { return kindOf[typ] }

// propType is the data type of a property (§2).
type propType uint8

const (
	pString propType = iota
	pTimestamp
	pBool
	pInt
	pFloat
	pStringList
	pRef
	pRefs
	pKillChain
	pHashes
	pDict
	pObject
	pObjectList
	pBinary
	pHex
	pExtRefs
	pGranular
)

type propSpec struct {
	typ      propType
	required bool
	targets  []string // for pRef/pRefs: allowed object types; nil for any
}

// typeProps lists, for every object type of the specification, its specific
// properties: "name!" is required; ":t" gives the type (ts timestamp, b boolean,
// i integer, f float, [s] list of strings, ref(a|b) and refs(a|b) identifiers of
// the given types, kcp kill chain phases, hashes, dict, obj, [obj], bin, hex);
// the default is string. Sources: the Properties table of each section.
var typeProps = map[string]string{
	// §4 SDOs
	"attack-pattern":   "name! description aliases:[s] kill_chain_phases:kcp",
	"campaign":         "name! description aliases:[s] first_seen:ts last_seen:ts objective",
	"course-of-action": "name! description",
	"grouping":         "name description context! object_refs!:refs",
	"identity":         "name! description roles:[s] identity_class sectors:[s] contact_information",
	"incident":         "name! description kill_chain_phases:kcp",
	"indicator":        "name description indicator_types:[s] pattern! pattern_type! pattern_version valid_from!:ts valid_until:ts kill_chain_phases:kcp",
	"infrastructure":   "name! description infrastructure_types:[s] aliases:[s] kill_chain_phases:kcp first_seen:ts last_seen:ts",
	"intrusion-set":    "name! description aliases:[s] first_seen:ts last_seen:ts goals:[s] resource_level primary_motivation secondary_motivations:[s]",
	"location":         "name description latitude:f longitude:f precision:f region country administrative_area city street_address postal_code",
	"malware": "name description malware_types:[s] is_family!:b aliases:[s] kill_chain_phases:kcp first_seen:ts last_seen:ts " +
		"operating_system_refs:refs(software) architecture_execution_envs:[s] implementation_languages:[s] capabilities:[s] sample_refs:refs(file|artifact)",
	"malware-analysis": "product! version host_vm_ref:ref(software) operating_system_ref:ref(software) installed_software_refs:refs(software) " +
		"configuration_version modules:[s] analysis_engine_version analysis_definition_version submitted:ts analysis_started:ts analysis_ended:ts " +
		"result_name result analysis_sco_refs:refs sample_ref:ref",
	"note":          "abstract content! authors:[s] object_refs!:refs",
	"observed-data": "first_observed!:ts last_observed!:ts number_observed!:i objects:obj object_refs:refs",
	"opinion":       "explanation authors:[s] opinion! object_refs!:refs",
	"report":        "name! description report_types:[s] published!:ts object_refs!:refs",
	"threat-actor": "name! description threat_actor_types:[s] aliases:[s] first_seen:ts last_seen:ts roles:[s] goals:[s] sophistication " +
		"resource_level primary_motivation secondary_motivations:[s] personal_motivations:[s]",
	"tool":          "name! description tool_types:[s] aliases:[s] kill_chain_phases:kcp tool_version",
	"vulnerability": "name! description",

	// §5 SROs
	"relationship": "relationship_type! description source_ref!:ref target_ref!:ref start_time:ts stop_time:ts",
	"sighting": "description first_seen:ts last_seen:ts count:i sighting_of_ref!:ref observed_data_refs:refs(observed-data) " +
		"where_sighted_refs:refs(identity|location) summary:b",

	// §6 SCOs
	"artifact":          "mime_type payload_bin:bin url hashes:hashes encryption_algorithm decryption_key",
	"autonomous-system": "number!:i name rir",
	"directory":         "path! path_enc ctime:ts mtime:ts atime:ts contains_refs:refs(file|directory)",
	"domain-name":       "value! resolves_to_refs:refs(ipv4-addr|ipv6-addr|domain-name)",
	"email-addr":        "value! display_name belongs_to_ref:ref(user-account)",
	"email-message": "is_multipart!:b date:ts content_type from_ref:ref(email-addr) sender_ref:ref(email-addr) to_refs:refs(email-addr) " +
		"cc_refs:refs(email-addr) bcc_refs:refs(email-addr) message_id subject received_lines:[s] additional_header_fields:dict body " +
		"body_multipart:[obj] raw_email_ref:ref(artifact)",
	"file": "hashes:hashes size:i name name_enc magic_number_hex:hex mime_type ctime:ts mtime:ts atime:ts " +
		"parent_directory_ref:ref(directory) contains_refs:refs content_ref:ref(artifact)",
	"ipv4-addr": "value! resolves_to_refs:refs(mac-addr) belongs_to_refs:refs(autonomous-system)",
	"ipv6-addr": "value! resolves_to_refs:refs(mac-addr) belongs_to_refs:refs(autonomous-system)",
	"mac-addr":  "value!",
	"mutex":     "name!",
	"network-traffic": "start:ts end:ts is_active:b src_ref:ref(ipv4-addr|ipv6-addr|mac-addr|domain-name) dst_ref:ref(ipv4-addr|ipv6-addr|mac-addr|domain-name) " +
		"src_port:i dst_port:i protocols!:[s] src_byte_count:i dst_byte_count:i src_packets:i dst_packets:i ipfix:dict " +
		"src_payload_ref:ref(artifact) dst_payload_ref:ref(artifact) encapsulates_refs:refs(network-traffic) encapsulated_by_ref:ref(network-traffic)",
	"process": "is_hidden:b pid:i created_time:ts cwd command_line environment_variables:dict opened_connection_refs:refs(network-traffic) " +
		"creator_user_ref:ref(user-account) image_ref:ref(file) parent_ref:ref(process) child_refs:refs(process)",
	"software": "name! cpe swid languages:[s] vendor version",
	"url":      "value!",
	"user-account": "user_id credential account_login account_type display_name is_service_account:b is_privileged:b can_escalate_privs:b " +
		"is_disabled:b account_created:ts account_expires:ts credential_last_changed:ts account_first_login:ts account_last_login:ts",
	"windows-registry-key": "key values:[obj] modified_time:ts creator_user_ref:ref(user-account) number_of_subkeys:i",
	"x509-certificate": "is_self_signed:b hashes:hashes version serial_number signature_algorithm issuer validity_not_before:ts " +
		"validity_not_after:ts subject subject_public_key_algorithm subject_public_key_modulus subject_public_key_exponent:i x509_v3_extensions:obj",

	// §7 meta objects
	"marking-definition":   "name definition_type definition:obj",
	"language-content":     "object_ref!:ref object_modified:ts contents!:dict",
	"extension-definition": "name! description schema! version! extension_types!:[s] extension_properties:[s]",
	"bundle":               "objects:[obj]",
}

// commonProps are the common properties (§3.2) with their types.
var commonProps = map[string]propSpec{
	"spec_version":        {typ: pString},
	"created_by_ref":      {typ: pRef, targets: []string{"identity"}},
	"created":             {typ: pTimestamp},
	"modified":            {typ: pTimestamp},
	"revoked":             {typ: pBool},
	"labels":              {typ: pStringList},
	"confidence":          {typ: pInt},
	"lang":                {typ: pString},
	"external_references": {typ: pExtRefs},
	"object_marking_refs": {typ: pRefs, targets: []string{"marking-definition"}},
	"granular_markings":   {typ: pGranular},
	"defanged":            {typ: pBool},
	"extensions":          {typ: pDict},
}

// requiredCommon lists the required common properties of each kind (§3.2 table,
// §7.1.1, §7.2.1, §7.3.1, §8.1). Custom objects follow the SDO row (§11.2.1: they
// MUST support the common properties), unless an extension definition declares
// them a new SCO.
var requiredCommon = map[Kind][]string{
	KindSDO:       {"spec_version", "created", "modified"},
	KindSRO:       {"spec_version", "created", "modified"},
	KindSCO:       nil,
	KindMarking:   {"spec_version", "created"},
	KindLanguage:  {"spec_version", "created", "modified"},
	KindExtension: {"spec_version", "created", "modified", "created_by_ref"},
	KindBundle:    nil,
	KindCustom:    {"spec_version", "created", "modified"},
}

type propTable map[string]propSpec

var specs = func() map[string]propTable {
	m := make(map[string]propTable, len(typeProps))
	for typ, s := range typeProps {
		t := propTable{}
		for _, f := range strings.Fields(s) {
			name, ty, _ := strings.Cut(f, ":")
			var ps propSpec
			if strings.HasSuffix(name, "!") {
				name = strings.TrimSuffix(name, "!")
				ps.required = true
			}
			switch {
			case ty == "":
				ps.typ = pString
			case ty == "ts":
				ps.typ = pTimestamp
			case ty == "b":
				ps.typ = pBool
			case ty == "i":
				ps.typ = pInt
			case ty == "f":
				ps.typ = pFloat
			case ty == "[s]":
				ps.typ = pStringList
			case ty == "kcp":
				ps.typ = pKillChain
			case ty == "hashes":
				ps.typ = pHashes
			case ty == "dict":
				ps.typ = pDict
			case ty == "obj":
				ps.typ = pObject
			case ty == "[obj]":
				ps.typ = pObjectList
			case ty == "bin":
				ps.typ = pBinary
			case ty == "hex":
				ps.typ = pHex
			case strings.HasPrefix(ty, "refs"):
				ps.typ = pRefs
				ps.targets = targetsOf(ty[4:])
			case strings.HasPrefix(ty, "ref"):
				ps.typ = pRef
				ps.targets = targetsOf(ty[3:])
			default:
				panic("stix: bad property table entry " + typ + " " + f)
			}
			t[name] = ps
		}
		m[typ] = t
	}
	return m
}()

// requiredOf lists the required specific properties of each type, in the order of
// typeProps, so that errors come in a stable order.
var requiredOf = func() map[string][]string {
	m := make(map[string][]string, len(typeProps))
	for typ, s := range typeProps {
		for _, f := range strings.Fields(s) {
			name, _, _ := strings.Cut(f, ":")
			if strings.HasSuffix(name, "!") {
				m[typ] = append(m[typ], strings.TrimSuffix(name, "!"))
			}
		}
	}
	return m
}()

func targetsOf(s string) []string {
	s = strings.TrimSuffix(strings.TrimPrefix(s, "("), ")")
	if s == "" {
		return nil
	}
	return strings.Split(s, "|")
}
