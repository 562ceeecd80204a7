from django import forms


class EmailForm(forms.Form):
    email = forms.EmailField(
        max_length=254, widget=forms.EmailInput(attrs={"autofocus": True, "autocomplete": "email"})
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)


class CodeForm(forms.Form):
    email = forms.EmailField(widget=forms.HiddenInput)
    code = forms.RegexField(
        r"^\d{6}$",
        error_messages={"invalid": "The code is 6 digits."},
        widget=forms.TextInput(
            attrs={
                "autofocus": True,
                "inputmode": "numeric",
                "autocomplete": "one-time-code",
                "maxlength": 6,
                "pattern": r"\d{6}",
            }
        ),
    )
    next = forms.CharField(required=False, widget=forms.HiddenInput)
