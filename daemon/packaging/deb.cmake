# The Debian package, built from a configured and built tree with
#     cpack -G DEB            (in the build directory; or: cpack --config <build>/CPackConfig.cmake)
# into tfsnap_<version>_<arch>.deb. It holds what `cmake --install` installs with the prefix
# /usr: tfsnapd, tfsnapctl, the systemd units, the sysusers.d and tmpfiles.d files, the man
# pages and /usr/share/doc/tfsnap. The maintainer scripts are in daemon/packaging/deb/: they create the
# user and the directories and never enable or start the service.
#
# The binaries are stripped; build the release preset for a package to ship (the tests build one
# from the ci tree, which is a debug build).

execute_process(COMMAND dpkg --print-architecture OUTPUT_VARIABLE tfsnap_deb_arch
                OUTPUT_STRIP_TRAILING_WHITESPACE ERROR_QUIET)
if(NOT tfsnap_deb_arch)
    set(tfsnap_deb_arch amd64)
endif()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME tfsnap)
set(CPACK_PACKAGE_VERSION "${PROJECT_VERSION}")
set(CPACK_PACKAGE_VENDOR tfsnap)
if(NOT CPACK_PACKAGE_CONTACT)
    set(CPACK_PACKAGE_CONTACT "tfsnap maintainers <maintainers@users.noreply.b-seed-3adf4ac8.example>")
endif()
set(CPACK_PACKAGE_DESCRIPTION_SUMMARY "${PROJECT_DESCRIPTION}")
# Without it CPack uses its generic template text as the long description.
set(CPACK_PACKAGE_DESCRIPTION
    "tfsnapd runs under systemd and, on cron-like schedules per environment, pins the exact S3
version of each Terraform state in a MANIFEST.json catalog, with optional archive or encrypted
local copies, retention and a bucket lifecycle guard. tfsnapctl talks to it over a Unix
socket: snapshots, dry-run restores under Terraform's own locks, undelete, audit log.")

# Everything is installed under DESTDIR with the prefix /usr; the units, sysusers.d and
# tmpfiles.d files use absolute destinations (/lib/systemd/system, /usr/lib/...), which land in
# the package too.
set(CPACK_SET_DESTDIR ON)
set(CPACK_INSTALL_PREFIX /usr)
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_STRIP_FILES ON)

set(CPACK_DEBIAN_PACKAGE_NAME tfsnap)
set(CPACK_DEBIAN_PACKAGE_ARCHITECTURE "${tfsnap_deb_arch}")
set(CPACK_DEBIAN_FILE_NAME "tfsnap_${PROJECT_VERSION}_${tfsnap_deb_arch}.deb")
set(CPACK_DEBIAN_PACKAGE_SECTION admin)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_COMPRESSION_TYPE xz)
# Depends: the shared libraries the binaries link (dpkg-shlibdeps, from dpkg-dev), plus what is
# used at run time without being linked: systemd-sysusers and systemd-tmpfiles (postinst), and
# the OS time zone database that date-tz reads (/usr/share/zoneinfo).
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_DEPENDS "systemd | systemd-sysusers, systemd | systemd-tmpfiles, tzdata")
# catalog.git: true runs git
set(CPACK_DEBIAN_PACKAGE_SUGGESTS git)
set(CPACK_DEBIAN_PACKAGE_CONTROL_EXTRA "${PROJECT_SOURCE_DIR}/daemon/packaging/deb/postinst"
                                       "${PROJECT_SOURCE_DIR}/daemon/packaging/deb/prerm"
                                       "${PROJECT_SOURCE_DIR}/daemon/packaging/deb/postrm")
# 0755 for the maintainer scripts and 0644 for md5sums, whatever the checkout's modes are
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)

# `cpack --config CPackSourceConfig.cmake` must not pack build trees or the git directory
set(CPACK_SOURCE_IGNORE_FILES "/build/" "/\\\\.git/" "/\\\\.cache/")

include(CPack)
