//! Downloading the GroupLens MovieLens zips, checked against published MD5s.
