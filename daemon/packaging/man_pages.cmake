# tfsnap_install_man(<page>...): installs each man page, named <name>.<section>, as
# ${CMAKE_INSTALL_MANDIR}/man<section>/<name>.<section>.gz.
#
# Debian policy (12.1) wants man pages compressed with `gzip -9n`; lintian reports
# uncompressed ones. They are compressed at install time (install_man_page.cmake), so no build
# target is involved and `cmake --install` or cpack work after building only the binaries.
function(tfsnap_install_man)
    foreach(page IN LISTS ARGN)
        get_filename_component(source "${page}" ABSOLUTE)
        get_filename_component(name "${page}" NAME)
        if(NOT name MATCHES "\\.([1-9])$")
            message(FATAL_ERROR "tfsnap_install_man: ${page} does not end in .<section> (1-9)")
        endif()
        if(NOT EXISTS "${source}")
            message(FATAL_ERROR "tfsnap_install_man: ${source} does not exist")
        endif()
        install(CODE "set(TFSNAP_MAN_SOURCE \"${source}\")
set(TFSNAP_MAN_DESTINATION \"${CMAKE_INSTALL_MANDIR}/man${CMAKE_MATCH_1}\")
include(\"${PROJECT_SOURCE_DIR}/daemon/packaging/install_man_page.cmake\")")
    endforeach()
endfunction()
