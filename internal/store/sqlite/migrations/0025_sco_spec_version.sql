-- Version 25: an SCO that omits spec_version is STIX 2.1 (STIX 2.1 §3.2). It was
-- stored with an empty spec_version, which match[spec_version]=2.1 did not find.
UPDATE objects SET spec_version = '2.1' WHERE spec_version = '';
