// The reader of sealed files (crypto/sealed_file.hpp): `tfsnapd decrypt`, the verify job and
// restores from a local copy open files anyone with write access to the catalog could have
// changed, and key files an administrator wrote. The first byte picks what the rest is:
//   'K'  a key file's contents (parse_key);
//   'R'  a plaintext: sealed with the fuzz key, then opened again (must give it back);
//   else a sealed file, opened with the fuzz key (inspect_header, open_to_string, verify_sealed).
// The fuzz key is 32 bytes 0x01, 0x08, 0x0f, ... (i * 7 + 1); the seed corpus holds files sealed
// with it (tests/fuzz/corpus/sealed_file), so mutations start from files that authenticate.
#include "tfsnap/crypto/sealed_file.hpp"

#include "fuzz_check.hpp"

#include <sys/mman.h>
#include <unistd.h>

#include <filesystem>
#include <string>

namespace {

using namespace tfsnap::crypto;

const sealing_key& fuzz_key() {
    static const sealing_key key = [] {
        std::string bytes(32, '\0');
        for (std::size_t i = 0; i < bytes.size(); ++i)
            bytes[i] = static_cast<char>(i * 7 + 1);
        return *sealing_key::from_bytes(tfsnap::core::secret(bytes));
    }();
    return key;
}

// The input as a file: one memfd for the process, rewritten for each input.
std::filesystem::path as_file(std::string_view bytes) {
    static const int fd = memfd_create("tfsnap-fuzz-sealed", MFD_CLOEXEC);
    FUZZ_CHECK(fd >= 0);
    FUZZ_CHECK(ftruncate(fd, 0) == 0);
    FUZZ_CHECK(pwrite(fd, bytes.data(), bytes.size(), 0) == static_cast<ssize_t>(bytes.size()));
    return "/proc/self/fd/" + std::to_string(fd);
}

// A directory of its own for the round trip (seal writes a temporary file and renames it),
// removed when the process exits.
struct scratch {
    std::filesystem::path dir;
    scratch() {
        // memory-backed when possible: seal() fsyncs the file and its directory
        const std::filesystem::path shm = "/dev/shm";
        const auto base = std::filesystem::is_directory(shm) ? shm : std::filesystem::temp_directory_path();
        dir = base / ("tfsnap-fuzz-sealed-" + std::to_string(getpid()));
        std::filesystem::create_directories(dir);
    }
    ~scratch() {
        std::error_code ec;
        std::filesystem::remove_all(dir, ec);
    }
};

const std::filesystem::path& scratch_dir() {
    static const scratch s;
    return s.dir;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size == 0)
        return 0;
    const char mode = static_cast<char>(data[0]);
    const std::string_view rest = tfsnap::fuzz::as_text(data + 1, size - 1);

    if (mode == 'K') {
        const key_result k = parse_key(rest, "key");
        FUZZ_CHECK(k.ok() == k.key.has_value());
        FUZZ_CHECK(k.ok() || !k.error.message.empty());
        if (k.ok())
            FUZZ_CHECK(k.key->fingerprint().size() == 16);
        return 0;
    }
    if (mode == 'R') {
        const auto dest = scratch_dir() / "sealed";
        const seal_result s = seal(fuzz_key(), rest, dest, seal_options{.overwrite = true});
        FUZZ_CHECK(s.ok());
        const open_result o = open_to_string(fuzz_key(), dest, rest.size());
        FUZZ_CHECK(o.ok());
        FUZZ_CHECK(o.plaintext == rest);
        FUZZ_CHECK(o.sealed_sha256 == s.sealed_sha256);
        return 0;
    }
    const auto path = as_file(rest);
    const header_result h = inspect_header(path);
    const open_result o = open_to_string(fuzz_key(), path, 1 << 20);
    FUZZ_CHECK(o.ok() || o.plaintext.empty());
    FUZZ_CHECK(o.ok() || !o.error.message.empty());
    if (o.ok()) {
        FUZZ_CHECK(h.ok());
        FUZZ_CHECK(o.plaintext.size() + sealed_header_size + sealed_tag_size == rest.size());
    }
    const open_result v = verify_sealed(fuzz_key(), path);
    FUZZ_CHECK(v.ok() == o.ok());
    return 0;
}
