# Runs at install time (cmake --install, cpack), from tfsnap_install_man() (man_pages.cmake):
# writes ${TFSNAP_MAN_SOURCE} compressed with `gzip -9n` (no name, no time stamp: the same
# bytes every time) to $DESTDIR${CMAKE_INSTALL_PREFIX}/${TFSNAP_MAN_DESTINATION}/<name>.gz.

if(IS_ABSOLUTE "${TFSNAP_MAN_DESTINATION}")
    set(_tfsnap_man_dir "${TFSNAP_MAN_DESTINATION}")
else()
    set(_tfsnap_man_dir "${CMAKE_INSTALL_PREFIX}/${TFSNAP_MAN_DESTINATION}")
endif()
get_filename_component(_tfsnap_man_name "${TFSNAP_MAN_SOURCE}" NAME)
set(_tfsnap_man_file "${_tfsnap_man_dir}/${_tfsnap_man_name}.gz")

message(STATUS "Installing: $ENV{DESTDIR}${_tfsnap_man_file}")
file(MAKE_DIRECTORY "$ENV{DESTDIR}${_tfsnap_man_dir}")
execute_process(COMMAND gzip -9n --stdout "${TFSNAP_MAN_SOURCE}"
                OUTPUT_FILE "$ENV{DESTDIR}${_tfsnap_man_file}"
                RESULT_VARIABLE _tfsnap_man_rc)
if(NOT _tfsnap_man_rc EQUAL 0)
    message(FATAL_ERROR "gzip ${TFSNAP_MAN_SOURCE}: ${_tfsnap_man_rc}")
endif()
file(CHMOD "$ENV{DESTDIR}${_tfsnap_man_file}" PERMISSIONS OWNER_READ OWNER_WRITE GROUP_READ WORLD_READ)
# install_manifest.txt lists it like the files install() copies (without DESTDIR)
list(APPEND CMAKE_INSTALL_MANIFEST_FILES "${_tfsnap_man_file}")
