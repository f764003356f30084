"""A made-up official 2027 schedule shared by the re-timing tests (domain, case desk, broker)."""

# A made-up "official" 2027 that differs from the estimate: the Spring Festival is Thu 4 – Fri 12 Feb
# (the estimate: Fri 5 – Wed 10), with make-up workdays Sun 31 Jan and Sat 20 Feb.
OFFICIAL_2027_YAML = """\
year: 2027
status: official
source: {title: 国务院办公厅关于2027年部分节假日安排的通知 (test), date: 2026-12-18}
holidays:
  - {from: 2027-01-01, to: 2027-01-03, name: 元旦}
  - {from: 2027-02-04, to: 2027-02-12, name: 春节}
  - {from: 2027-10-01, to: 2027-10-07, name: 国庆节}
workdays:
  - {date: 2027-01-31, name: 春节调休上班}
  - {date: 2027-02-20, name: 春节调休上班}
"""
