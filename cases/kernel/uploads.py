"""Stop reading an upload as soon as it is known to be too big.

Django's own handlers write the whole body to a temporary file before any view can look at
its size. This handler comes first (settings.FILE_UPLOAD_HANDLERS): a request whose
Content-Length announces more than the limit, or whose files turn out to weigh more, is cut
off there, and the view says so with ``refused(request)``.
"""

from django.core.files.uploadhandler import FileUploadHandler, SkipFile, StopUpload

from cases.kernel.documents import MAX_SIZE, size_label

# Room for the form's other fields and the multipart boundaries around the file.
FORM_OVERHEAD = 1024 * 1024
MAX_REQUEST_SIZE = MAX_SIZE + FORM_OVERHEAD


def too_big_message() -> str:
    return (
        f"Le fichier dépasse la taille maximale de {size_label(MAX_SIZE)}. Rien n'a été enregistré."
    )


class LimitedUploadHandler(FileUploadHandler):
    """Counts the bytes of the request's files and stops the upload past ``MAX_SIZE``.

    Fields before the first file (the CSRF token comes first in our forms) are still read,
    so the view can answer with its French message rather than a CSRF failure."""

    def __init__(self, request=None):
        super().__init__(request)
        self.refused = False
        self.received = 0

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if content_length > MAX_REQUEST_SIZE:
            self.refused = True
        return None

    def new_file(self, *args, **kwargs):
        if self.refused:
            # connection_reset: the rest of the body is not read at all.
            raise StopUpload(connection_reset=True)
        super().new_file(*args, **kwargs)

    def receive_data_chunk(self, raw_data, start):
        self.received += len(raw_data)
        if self.received > MAX_SIZE:
            self.refused = True
            raise StopUpload(connection_reset=True)
        return raw_data

    def file_complete(self, file_size):
        return None


def refused(request) -> bool:
    """Whether the request's upload was cut off for its size (once its body was parsed)."""
    return any(
        isinstance(handler, LimitedUploadHandler) and handler.refused
        for handler in request.upload_handlers
    )


class SkipFilesHandler(FileUploadHandler):
    """Reads a form's fields and drops its files unread: for a form whose text is given back
    while its file has nowhere to go."""

    def new_file(self, *args, **kwargs):
        raise SkipFile

    def receive_data_chunk(self, raw_data, start):
        return None

    def file_complete(self, file_size):
        return None


def skip_files(request) -> None:
    """Before the body is read: its files are skipped, its fields still read."""
    request.upload_handlers = [SkipFilesHandler(request)]
