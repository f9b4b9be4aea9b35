// Package report is the pure core of operator incident reporting: the report an
// operator submits in plain terms (not raw STIX), its strict decoding with one error
// per broken field, its conversion to STIX 2.1, the reporting deadlines of each
// jurisdiction, the common list of critical-infrastructure sectors with each nation's
// mapping onto it, signed receipts, and the triage status of a report.
//
// Nothing here does I/O beyond reading the io.Reader it is given: HTTP handlers, the
// store and the command line are thin layers over this package.
package report
