"""nbconvert templates shipped with mcops (a package so that wheels include them)."""
