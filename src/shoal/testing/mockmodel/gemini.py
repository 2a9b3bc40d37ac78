NAME = "gemini"


def handle(request, turn):
    return None
